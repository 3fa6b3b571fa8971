"""HTTP/wire, security and storage for the rrmm-cds CDS Hooks 2.0 service."""
