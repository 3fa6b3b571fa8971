"""Service configuration from environment variables (12-factor), with embedded defaults.

Every setting has a default that makes ``rrmm-cds serve`` work with nothing configured:
development mode, a SQLite file under ``./data/``, loopback-only FHIR servers. The README's
configuration table documents each variable; keep the two in step.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Environment = Literal["development", "production"]
AuthMode = Literal["required", "disabled"]

DEFAULT_DATA_DIR = Path("data")
DEFAULT_MAX_REQUEST_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_RESOURCES = 20_000  # FHIR resources per hook request (prefetch + context)
DEFAULT_FETCH_TIMEOUT = 5.0
DEFAULT_FETCH_BUDGET = 15.0
DEFAULT_FETCH_RETRIES = 2
DEFAULT_PREFETCH_PAGE_SIZE = 1000  # _count in every search template (cds_service.services)
DEFAULT_FETCH_CONCURRENCY = 16  # FHIR requests in flight per hook call
DEFAULT_FETCH_MAX_BYTES = 16 * 1024 * 1024  # bytes fetched from fhirServer per hook call
DEFAULT_FETCH_MAX_RESOURCES = 20_000  # resources fetched from fhirServer per hook call
DEFAULT_UPSTREAM_FAILURE_STATUS = 412  # answer when fhirServer fails after retries (or 503)
DEFAULT_JWT_ALGORITHMS = ("ES384", "RS384")
_JWT_ALGORITHMS = frozenset({"ES256", "ES384", "RS256", "RS384"})  # never none or HMAC
DEFAULT_JWT_LEEWAY_S = 60
DEFAULT_MAX_DRAFT_ORDERS = 200  # draft orders per order-select / order-sign call (more: 413)
DEFAULT_MAX_CARDS = 25  # cards per response; beyond it the rest is summarised in one card
DEFAULT_RATE_LIMIT_PER_S = 50.0  # hook calls + feedback posts per second per client issuer (per worker)
DEFAULT_RATE_BURST = 200  # requests a client issuer may send at once before it is throttled
DEFAULT_FEEDBACK_COMMENT_DAYS = 90  # days a free-text override comment is kept (0: not stored)
MIN_AUDIT_SALT_BYTES = 32
DEFAULT_TIMELINE_TOKEN_TTL_S = 1800  # the timeline link's token: a card is often opened minutes later
MIN_TIMELINE_KEY_CHARS = 32
DEFAULT_TIMELINE_CLIENT_ID = "rrmm-cds-timeline"
_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use."""


def default_database_url(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    return f"sqlite:///{(data_dir / 'rrmm-cds.sqlite3').as_posix()}"


@dataclass(frozen=True)
class Settings:
    env: Environment = "development"
    public_base_url: str | None = None
    database_url: str = field(default_factory=default_database_url)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_resources: int = DEFAULT_MAX_RESOURCES
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT  # seconds, per outbound HTTP request
    fetch_budget: float = DEFAULT_FETCH_BUDGET  # seconds, all fetches of one hook call together
    fetch_retries: int = DEFAULT_FETCH_RETRIES  # extra attempts after a failed/5xx fetch
    fhir_allowlist: str | None = None  # raw value, parsed by cds_service.security.allowlist
    # Outbound FHIR reads (cds_service.data_gathering); README "Configuration".
    prefetch_page_size: int = DEFAULT_PREFETCH_PAGE_SIZE
    fetch_concurrency: int = DEFAULT_FETCH_CONCURRENCY
    fetch_max_bytes: int = DEFAULT_FETCH_MAX_BYTES
    fetch_max_resources: int = DEFAULT_FETCH_MAX_RESOURCES
    upstream_failure_status: int = DEFAULT_UPSTREAM_FAILURE_STATUS
    log_level: str = "INFO"
    # Client JWT verification (cds_service.security.client_auth); README "Security configuration".
    auth: AuthMode = "disabled"
    trusted_issuers: str | None = None  # path of the trusted-issuer JSON file
    jwt_algorithms: tuple[str, ...] = DEFAULT_JWT_ALGORITHMS
    jwt_leeway_s: int = DEFAULT_JWT_LEEWAY_S
    # Key of the patient-id hash in the audit trail; unset = derived from DATABASE_URL (development
    # only, not secret): see cds_service.store.resolve_audit_salt and README "Operations".
    audit_salt: str | None = None
    # Amplification bounds (README "Limits").
    max_draft_orders: int = DEFAULT_MAX_DRAFT_ORDERS
    max_cards: int = DEFAULT_MAX_CARDS
    # Token bucket per client issuer (JWT iss) on hook calls and feedback; 0 = no limit.
    rate_limit_per_s: float = DEFAULT_RATE_LIMIT_PER_S
    rate_burst: int = DEFAULT_RATE_BURST
    # Feedback: how long free-text comments are kept; what happens to items for unknown cards.
    feedback_comment_days: int = DEFAULT_FEEDBACK_COMMENT_DAYS
    feedback_unknown_cards: Literal["discard", "refuse"] = "discard"
    # The development card preview at / (RRMM_CDS_PREVIEW; never with client JWTs required).
    preview: bool = True
    # The relapse timeline (cds_service.timeline; docs/timeline.md): the key of the tokens in card
    # links (production offers no link without it), their lifetime, and whether explain calls
    # without a token are accepted (development only).
    timeline_key: str | None = None
    timeline_token_ttl_s: int = DEFAULT_TIMELINE_TOKEN_TTL_S
    timeline_auth: Literal["required", "optional"] = "optional"
    timeline_client_id: str = DEFAULT_TIMELINE_CLIENT_ID  # the app's OAuth client id at the EHR
    # Who may show the timeline app in a frame (CSP frame-ancestors): EHRs embed SMART apps, so any
    # origin by default; a deployment names its EHR's origins (RRMM_CDS_TIMELINE_FRAME_ANCESTORS).
    timeline_frame_ancestors: tuple[str, ...] = ("*",)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def timeline_auth_required(self) -> bool:
        """Explain calls need a timeline token (always in production)."""
        return self.production or self.timeline_auth == "required"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``); raise ConfigError on bad values."""
        env_vars = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = _file_setting(env_vars, name) if env_vars.get(f"{name}_FILE") else env_vars.get(name)
            return value.strip() if value is not None and value.strip() else None

        env = (text("RRMM_CDS_ENV") or "development").lower()
        if env not in ("development", "production"):
            raise ConfigError("RRMM_CDS_ENV must be 'development' or 'production'")
        log_level = (text("RRMM_CDS_LOG_LEVEL") or "INFO").upper()
        if log_level not in _LOG_LEVELS:
            raise ConfigError(f"RRMM_CDS_LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}")
        public_base_url = text("RRMM_CDS_PUBLIC_BASE_URL")
        auth, jwt_algorithms = _auth_settings(text("RRMM_CDS_AUTH"), text("RRMM_CDS_JWT_ALGORITHMS"), env)
        database_url = text("DATABASE_URL")
        settings = cls(
            env=env,  # type: ignore[arg-type]  # checked above
            public_base_url=public_base_url.rstrip("/") if public_base_url else None,
            database_url=database_url or default_database_url(),
            max_resources=_positive_int(
                text("RRMM_CDS_MAX_RESOURCES"), "RRMM_CDS_MAX_RESOURCES", DEFAULT_MAX_RESOURCES
            ),
            max_request_bytes=_positive_int(
                text("RRMM_CDS_MAX_REQUEST_BYTES"), "RRMM_CDS_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES
            ),
            fetch_timeout=_positive_float(
                text("RRMM_CDS_FETCH_TIMEOUT"), "RRMM_CDS_FETCH_TIMEOUT", DEFAULT_FETCH_TIMEOUT
            ),
            fetch_budget=_positive_float(
                text("RRMM_CDS_FETCH_BUDGET"), "RRMM_CDS_FETCH_BUDGET", DEFAULT_FETCH_BUDGET
            ),
            fetch_retries=_non_negative_int(
                text("RRMM_CDS_FETCH_RETRIES"), "RRMM_CDS_FETCH_RETRIES", DEFAULT_FETCH_RETRIES
            ),
            fhir_allowlist=_checked_allowlist(text("RRMM_CDS_FHIR_ALLOWLIST"), env),
            **_fetch_settings(text),
            log_level=log_level,
            auth=auth,
            trusted_issuers=text("RRMM_CDS_TRUSTED_ISSUERS"),
            jwt_algorithms=jwt_algorithms,
            jwt_leeway_s=_non_negative_int(
                text("RRMM_CDS_JWT_LEEWAY_S"), "RRMM_CDS_JWT_LEEWAY_S", DEFAULT_JWT_LEEWAY_S
            ),
            audit_salt=text("RRMM_CDS_AUDIT_SALT"),
            **_hardening_settings(text, auth),
            **_timeline_settings(text, env),
        )
        if settings.production:
            _require_server_database(database_url)
        return settings

    def check_servable(self) -> None:
        """Raise ConfigError when these settings must not serve requests (see production_problem).

        Called where the service starts (the gunicorn master, rrmm-cds serve, create_app), not by
        every command: ``rrmm-cds db upgrade`` needs no audit salt.
        """
        problem = production_problem(self) if self.production else None
        if problem:
            raise ConfigError(problem)


def production_problem(settings: Settings) -> str | None:
    """Why these production settings must not start the service (one line), or None.

    Production fails safe: the audit hash needs a secret salt (a guessable one lets anyone
    recover MRN-like patient ids from the audit trail), the store must be a server database
    (SQLite is a per-pod file), the preview page (sample patients, no authentication) must be
    off, and FHIR servers must be reached over https (Settings.from_env checks the allow-list).
    """
    salt = settings.audit_salt or ""
    if len(salt.encode()) < MIN_AUDIT_SALT_BYTES:
        return (
            f"RRMM_CDS_AUDIT_SALT must be set to a secret of at least {MIN_AUDIT_SALT_BYTES} bytes "
            "in production (e.g. openssl rand -hex 32)"
        )
    if settings.database_url.startswith("sqlite"):
        return "DATABASE_URL must name a PostgreSQL database in production (SQLite is for development)"
    if settings.preview:
        return "RRMM_CDS_PREVIEW must be off in production (the preview page is for development)"
    return None


def _hardening_settings(text: Callable[[str], str | None], auth: str) -> dict[str, object]:
    """Amplification bounds, rate limits, feedback retention and the preview switch."""
    unknown = (text("RRMM_CDS_FEEDBACK_UNKNOWN_CARDS") or "discard").lower()
    if unknown not in ("discard", "refuse"):
        raise ConfigError("RRMM_CDS_FEEDBACK_UNKNOWN_CARDS must be 'discard' or 'refuse'")
    preview_raw = (text("RRMM_CDS_PREVIEW") or "").lower()
    if preview_raw not in ("", "on", "off", "true", "false", "1", "0"):
        raise ConfigError("RRMM_CDS_PREVIEW must be 'on' or 'off'")
    # Default: on in development without client JWTs; never while client JWTs are required.
    preview = preview_raw in ("on", "true", "1") if preview_raw else auth == "disabled"
    rate = text("RRMM_CDS_RATE_LIMIT")
    try:
        rate_limit = DEFAULT_RATE_LIMIT_PER_S if rate is None else float(rate)
    except ValueError:
        raise ConfigError("RRMM_CDS_RATE_LIMIT must be a number of requests per second") from None
    if not 0 <= rate_limit < float("inf"):
        raise ConfigError("RRMM_CDS_RATE_LIMIT must not be negative")
    return {
        "max_draft_orders": _positive_int(
            text("RRMM_CDS_MAX_DRAFT_ORDERS"), "RRMM_CDS_MAX_DRAFT_ORDERS", DEFAULT_MAX_DRAFT_ORDERS
        ),
        "max_cards": max(
            2, _positive_int(text("RRMM_CDS_MAX_CARDS"), "RRMM_CDS_MAX_CARDS", DEFAULT_MAX_CARDS)
        ),
        "rate_limit_per_s": rate_limit,
        "rate_burst": _positive_int(text("RRMM_CDS_RATE_BURST"), "RRMM_CDS_RATE_BURST", DEFAULT_RATE_BURST),
        "feedback_comment_days": _non_negative_int(
            text("RRMM_CDS_FEEDBACK_COMMENT_DAYS"), "RRMM_CDS_FEEDBACK_COMMENT_DAYS", DEFAULT_FEEDBACK_COMMENT_DAYS
        ),
        "feedback_unknown_cards": unknown,
        "preview": preview,
    }

def _file_setting(env_vars: Mapping[str, str], name: str) -> str:
    """``NAME_FILE`` names a file holding the value (a mounted Kubernetes Secret), for any setting."""
    if env_vars.get(name, "").strip():
        raise ConfigError(f"set {name} or {name}_FILE, not both")
    path = env_vars[f"{name}_FILE"].strip()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not readable text"
        raise ConfigError(f"{name}_FILE: cannot read {path}: {reason}") from None


def _require_server_database(database_url: str | None) -> None:
    """Production keeps feedback, audit and the JWT replay cache in PostgreSQL, never SQLite."""
    if database_url is None:
        raise ConfigError(
            "production needs DATABASE_URL (or DATABASE_URL_FILE) naming a PostgreSQL database; "
            "the SQLite default is for development only"
        )
    if not database_url.startswith(("postgres://", "postgresql://", "postgresql+")):
        scheme = database_url.split(":", 1)[0] if ":" in database_url else "not a URL"
        raise ConfigError(
            f"production needs a PostgreSQL DATABASE_URL (postgresql://...), got {scheme!r}; "
            "SQLite is for development only"
        )


def _timeline_settings(text: Callable[[str], str | None], env: str) -> dict[str, Any]:
    key = text("RRMM_CDS_TIMELINE_KEY")
    if key is not None and len(key) < MIN_TIMELINE_KEY_CHARS:
        raise ConfigError(f"RRMM_CDS_TIMELINE_KEY must have at least {MIN_TIMELINE_KEY_CHARS} characters")
    auth = (text("RRMM_CDS_TIMELINE_AUTH") or ("required" if env == "production" else "optional")).lower()
    if auth not in ("required", "optional"):
        raise ConfigError("RRMM_CDS_TIMELINE_AUTH must be 'required' or 'optional'")
    if auth == "optional" and env == "production":
        raise ConfigError("RRMM_CDS_TIMELINE_AUTH=optional is not allowed when RRMM_CDS_ENV=production")
    if auth == "required" and env != "production" and key is None:
        # Outside production the fallback key is derived from DATABASE_URL and guessable: a
        # deployment that asks for authorised explain calls must say which key signs them.
        raise ConfigError("RRMM_CDS_TIMELINE_AUTH=required needs RRMM_CDS_TIMELINE_KEY")
    ttl = _positive_int(text("RRMM_CDS_TIMELINE_TOKEN_TTL_S"), "RRMM_CDS_TIMELINE_TOKEN_TTL_S",
                        DEFAULT_TIMELINE_TOKEN_TTL_S)
    return {"timeline_key": key, "timeline_auth": auth, "timeline_token_ttl_s": ttl,
            "timeline_client_id": text("RRMM_CDS_TIMELINE_CLIENT_ID") or DEFAULT_TIMELINE_CLIENT_ID,
            "timeline_frame_ancestors": frame_ancestors(text("RRMM_CDS_TIMELINE_FRAME_ANCESTORS"))}


# A frame-ancestors source as this setting accepts it: an https origin (a "*." host wildcard
# allowed), an http origin on loopback (development EHRs), 'self', 'none' or *.
_FRAME_ANCESTOR = re.compile(
    r"^(?:\*|'self'|'none'|https://(?:\*\.)?[A-Za-z0-9.-]+(?::\d{1,5})?"
    r"|http://(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?)$"
)


def frame_ancestors(raw: str | None) -> tuple[str, ...]:
    """RRMM_CDS_TIMELINE_FRAME_ANCESTORS: origins separated by spaces or commas (default *)."""
    if raw is None:
        return ("*",)
    sources = tuple(part for part in re.split(r"[\s,]+", raw.strip()) if part)
    bad = [source for source in sources if not _FRAME_ANCESTOR.match(source)]
    if not sources or bad:
        raise ConfigError(
            "RRMM_CDS_TIMELINE_FRAME_ANCESTORS must list origins such as https://ehr.example.org "
            f"(or 'self', 'none', *), separated by spaces; not {' '.join(bad) or 'empty'}"
        )
    if "'none'" in sources and len(sources) > 1:
        raise ConfigError("RRMM_CDS_TIMELINE_FRAME_ANCESTORS: 'none' cannot be combined with other origins")
    return sources


def _fetch_settings(text: Callable[[str], str | None]) -> dict[str, int]:
    """The outbound-fetch settings beyond timeout, budget and retries."""
    status = _positive_int(
        text("RRMM_CDS_UPSTREAM_FAILURE_STATUS"),
        "RRMM_CDS_UPSTREAM_FAILURE_STATUS",
        DEFAULT_UPSTREAM_FAILURE_STATUS,
    )
    if status not in (412, 503):
        raise ConfigError("RRMM_CDS_UPSTREAM_FAILURE_STATUS must be 412 or 503")
    return {
        "prefetch_page_size": _positive_int(
            text("RRMM_CDS_PREFETCH_PAGE_SIZE"), "RRMM_CDS_PREFETCH_PAGE_SIZE", DEFAULT_PREFETCH_PAGE_SIZE
        ),
        "fetch_concurrency": _positive_int(
            text("RRMM_CDS_FETCH_CONCURRENCY"), "RRMM_CDS_FETCH_CONCURRENCY", DEFAULT_FETCH_CONCURRENCY
        ),
        "fetch_max_bytes": _positive_int(
            text("RRMM_CDS_FETCH_MAX_BYTES"), "RRMM_CDS_FETCH_MAX_BYTES", DEFAULT_FETCH_MAX_BYTES
        ),
        "fetch_max_resources": _positive_int(
            text("RRMM_CDS_FETCH_MAX_RESOURCES"), "RRMM_CDS_FETCH_MAX_RESOURCES", DEFAULT_FETCH_MAX_RESOURCES
        ),
        "upstream_failure_status": status,
    }


def _checked_allowlist(raw: str | None, env: str) -> str | None:
    """Parse RRMM_CDS_FHIR_ALLOWLIST now so a bad entry stops start-up with a clear message."""
    from cds_service.security.allowlist import FhirAllowlist  # security imports config, not vice versa

    try:
        FhirAllowlist.from_setting(raw, production=env == "production")
    except ValueError as exc:
        raise ConfigError(f"RRMM_CDS_FHIR_ALLOWLIST: {exc}") from None
    return raw


def _auth_settings(
    auth_raw: str | None, algorithms_raw: str | None, env: str
) -> tuple[AuthMode, tuple[str, ...]]:
    """RRMM_CDS_AUTH (default: required in production, disabled in development) and algorithms."""
    auth = (auth_raw or ("required" if env == "production" else "disabled")).lower()
    if auth not in ("required", "disabled"):
        raise ConfigError("RRMM_CDS_AUTH must be 'required' or 'disabled'")
    if auth == "disabled" and env == "production":
        raise ConfigError("RRMM_CDS_AUTH=disabled is not allowed when RRMM_CDS_ENV=production")
    if algorithms_raw is None:
        return auth, DEFAULT_JWT_ALGORITHMS  # type: ignore[return-value]  # checked above
    algorithms = tuple(dict.fromkeys(a.strip().upper() for a in algorithms_raw.split(",") if a.strip()))
    if not algorithms or not set(algorithms) <= _JWT_ALGORITHMS:
        raise ConfigError(f"RRMM_CDS_JWT_ALGORITHMS must be a comma list from {sorted(_JWT_ALGORITHMS)}")
    return auth, algorithms  # type: ignore[return-value]  # checked above


def _positive_int(raw: str | None, name: str, default: int) -> int:
    value = _non_negative_int(raw, name, default)
    if value == 0:
        raise ConfigError(f"{name} must be a positive integer")
    return value


def _non_negative_int(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


def _positive_float(raw: str | None, name: str, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds")
    return value
