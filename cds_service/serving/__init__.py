"""How the service is served: gunicorn workers and hooks, the probe/metrics listeners of the
master, and the nginx front proxy (``deploy/proxy/nginx.conf``, also used by ``rrmm-cds serve``).

Nothing here is imported by the application itself (``cds_service.app``): these modules run in a
gunicorn master before any worker forks.
"""
