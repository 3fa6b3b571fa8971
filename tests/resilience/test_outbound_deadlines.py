"""Wall-clock deadlines end to end, under ``rrmm-cds serve``: a JWKS endpoint trickling one byte
per 0.2 s cannot hold requests past the JWKS deadline (3 s), and a second token of the same
issuer does not queue behind the first read.

Before: a peer trickling 1 byte/s held a request 30 s (then gunicorn's HTML 500) or 89-94 s under
``rrmm-cds serve``; a second token waited on the JWKS lock. (The FHIR-side deadlines and fetch
limits are exercised in tests/security/test_fetch_resilience.py.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from security.jwt_helpers import ClientKeys
from trickling_peer import trickling_peer

from .servers import serve, service_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def trickling_jwks() -> Iterator[str]:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
    with trickling_peer(b"", head + b" " * 4000, 0.2) as port:
        yield f"http://127.0.0.1:{port}/jwks.json"


def test_a_trickling_jwks_endpoint_cannot_hold_requests(tmp_path: Path, trickling_jwks: str) -> None:
    keys = ClientKeys()
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps({"https://ehr.example/client": {"jwks_url": trickling_jwks}}))
    base = "https://cds.test"
    env = service_env(tmp_path, RRMM_CDS_AUTH="required", RRMM_CDS_PUBLIC_BASE_URL=base,
                      RRMM_CDS_TRUSTED_ISSUERS=str(issuers))
    with serve(tmp_path, "--proxy", "off", env=env) as server:
        def call(_: int) -> tuple[int, float]:
            token = keys.token(f"{base}/cds-services", claims={"iss": "https://ehr.example/client"})
            started = time.monotonic()
            answer = requests.get(server.base_url + "/cds-services", headers={"Authorization": f"Bearer {token}"},
                                  timeout=30)
            return answer.status_code, time.monotonic() - started

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(call, range(2)))
    assert [status for status, _ in results] == [401, 401]
    slowest = max(seconds for _, seconds in results)
    assert slowest < 5.0, results  # the 3 s JWKS deadline plus margin, not 30 s or more
    assert "JWKS unreachable" in server.log()
