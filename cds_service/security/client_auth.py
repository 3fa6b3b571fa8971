"""Flask glue for client JWT verification: which paths are protected and the uniform 401.

``install_client_auth(app, settings, replay_guard)`` is called once by ``create_app``.  It builds
the verifier from the settings (refusing to start on a bad configuration) and registers a
``before_request`` hook that protects discovery, service calls and feedback - every path under
``/cds-services`` - except CORS preflight (``OPTIONS``), which browsers send without credentials.
Health, readiness, metrics, the OpenAPI document and the development preview live elsewhere and
are not protected.

Every failure gets the same 401: same body, same headers, whatever the reason, so a caller cannot
probe which check failed.  CORS headers are added by the app's ``after_request`` hook, which Flask
also runs for responses returned from ``before_request``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, request

from cds_service.config import ConfigError
from cds_service.errors import UNAUTHORIZED_BODY, StoreUnavailable
from cds_service.security.issuers import IssuerConfigError, load_trusted_issuers
from cds_service.security.jwt_auth import (
    AuthenticationFailed,
    ClientJwtVerifier,
    ReplayGuard,
    ReplayStoreUnavailable,
    expected_audiences,
    reason_label,
)

logger = logging.getLogger(__name__)

PROTECTED_ROOT = "/cds-services"


class AuthConfigError(ConfigError):
    """Client authentication is configured in a way the service must not start with."""


def is_protected(path: str) -> bool:
    return path == PROTECTED_ROOT or path.startswith(PROTECTED_ROOT + "/")


def unauthorized_response() -> Response:
    """The one 401 the service ever sends."""
    response = Response(UNAUTHORIZED_BODY, status=401, mimetype="application/json")
    response.headers["WWW-Authenticate"] = "Bearer"
    response.headers["Cache-Control"] = "no-store"
    return response


def build_verifier(settings: Any, replay_guard: ReplayGuard) -> ClientJwtVerifier | None:
    """The verifier the settings ask for, or None when authentication is disabled.

    ``settings`` needs ``auth``, ``production``, ``public_base_url``, ``trusted_issuers``,
    ``jwt_algorithms`` and ``jwt_leeway_s`` (see cds_service.config.Settings).
    """
    if settings.auth == "disabled":
        if settings.production:
            raise AuthConfigError("RRMM_CDS_AUTH=disabled is not allowed in production")
        logger.warning(
            "CLIENT JWT VERIFICATION IS DISABLED (RRMM_CDS_AUTH=disabled): any caller is trusted. "
            "Development only - never expose this service.",
            extra={"event": "config", "auth": "disabled"},
        )
        return None
    if settings.auth != "required":
        raise AuthConfigError("RRMM_CDS_AUTH must be 'required' or 'disabled'")
    if not settings.public_base_url:
        raise AuthConfigError(
            "RRMM_CDS_AUTH=required needs RRMM_CDS_PUBLIC_BASE_URL (the aud of client JWTs)"
        )
    if not settings.trusted_issuers:
        raise AuthConfigError("RRMM_CDS_AUTH=required needs RRMM_CDS_TRUSTED_ISSUERS (a JSON file)")
    try:
        issuers = load_trusted_issuers(settings.trusted_issuers, production=settings.production)
    except IssuerConfigError as exc:
        raise AuthConfigError(str(exc)) from None
    verifier = ClientJwtVerifier(
        issuers, replay_guard, algorithms=frozenset(settings.jwt_algorithms), leeway_s=settings.jwt_leeway_s
    )
    logger.info(
        "client JWT verification enabled",
        extra={"event": "config", "auth": "required", "issuer_count": len(issuers)},
    )
    return verifier


def install_client_auth(app: Flask, settings: Any, replay_guard: ReplayGuard) -> None:
    """Protect ``/cds-services`` on ``app`` as the settings say (see module docstring)."""
    verifier = build_verifier(settings, replay_guard)
    app.extensions["rrmm_client_auth"] = verifier
    if verifier is None:
        return
    public_base_url: str = settings.public_base_url

    @app.before_request
    def _require_client_jwt() -> Response | None:
        if request.method == "OPTIONS" or not is_protected(request.path):
            return None
        try:
            client = verifier.verify(
                request.headers.get("Authorization"), expected_audiences(public_base_url, request.path)
            )
        except ReplayStoreUnavailable:
            # The database behind the replay check is down: "try again", not "bad credentials".
            raise StoreUnavailable() from None
        except AuthenticationFailed as exc:
            # The reason is a fixed phrase from the verifier, never token content.
            g.auth_failure_reason = reason_label(exc.reason)
            logger.info(
                "client JWT rejected",
                extra={
                    "event": "auth",
                    "outcome": "unauthorized",
                    "reason": exc.reason,
                    "path": request.path[:200],
                },
            )
            return unauthorized_response()
        g.client_issuer = client.issuer
        return None
