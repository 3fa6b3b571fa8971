"""URL hygiene for outbound FHIR reads: normal forms, the fhirServer base, ids, template values.

Every URL the service is about to contact is first brought to its normal form (RFC 3986 §6.2.2:
percent-encoded unreserved characters decoded, dot segments removed, scheme and host lower case)
and that normal form is what is checked (allow-list, "under the fhirServer base") and what is
sent. Checking one spelling and sending another is how ``{base}/../../elsewhere`` used to receive
the bearer token: HTTP libraries remove dot segments before they send.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

_UNRESERVED_ESCAPE = re.compile(r"%(2[dDeE]|5[fF]|7[eE]|[46][1-9a-fA-F]|[57][0-9aA]|3[0-9])")
# Encoded characters that would change the path's structure once a server decodes them.
_STRUCTURAL_ESCAPE = re.compile(r"%(2[fF]|5[cC]|00)")
# The request schema's id rule (FHIR says 64 characters; some servers use longer ids).
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,256}$")


def _decode_unreserved(path: str) -> str:
    return _UNRESERVED_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), path)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 on an absolute path ("/a/b/../c" -> "/a/c")."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        elif segment == ".":
            if last:
                output.append("")
        else:
            output.append(segment)
    joined = "/".join(output)
    return joined if joined.startswith("/") else "/" + joined


def normalise(url: str) -> str | None:
    """The normal form of an absolute http(s) URL (fragment dropped), or None if it is unusable.

    Unusable: not http(s), no host, unparsable, or a path holding an encoded ``/``, ``\\`` or NUL
    (servers disagree on whether those separate segments).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc or _STRUCTURAL_ESCAPE.search(parts.path):
        return None
    path = remove_dot_segments(_decode_unreserved(parts.path or "/"))
    return urlunsplit((scheme, parts.netloc.lower(), path, parts.query, ""))


def fhir_server_problem(url: str) -> str | None:
    """Why ``url`` cannot be a fhirServer base (safe to log: no URL content), or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a URL"
    if parts.query or url.rstrip().endswith("?"):
        return "has a query string"
    if parts.fragment or "#" in url:
        return "has a fragment"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "has userinfo"
    if normalise(url) is None:
        return "not an http(s) URL with a plain path"
    return None


def fhir_server_base(url: str) -> str:
    """The normal form of a fhirServer URL without a trailing slash (call after the check above)."""
    normal = normalise(url)
    assert normal is not None
    return normal.rstrip("/")


def is_under_base(url: str, base: str) -> bool:
    """True when ``url`` (normal form) is the base (normal form, no trailing slash) or below it."""
    try:
        target, root = urlsplit(url), urlsplit(base)
        same_origin = (target.scheme, target.hostname, target.port) == (root.scheme, root.hostname, root.port)
    except ValueError:
        return False
    base_path = root.path.rstrip("/")
    return same_origin and (target.path == base_path or target.path.startswith(base_path + "/"))


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a FHIR logical id in a URL path, or None."""
    if "/" in value:
        return "contains '/'"
    if value.strip(".") == "":
        return "consists only of dots"
    if not _FHIR_ID.match(value):
        return "is not a FHIR id (1-256 letters, digits, '-' or '.')"
    return None


def encode_value(value: str) -> str:
    """A value substituted into a prefetch template, percent-encoded for any URL position."""
    return quote(value, safe="")
