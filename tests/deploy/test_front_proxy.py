"""deploy/proxy/nginx.conf: the production rendering of the one template, valid for nginx, fit to
run read-only as non-root."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from cds_service.serving import proxy

NGINX_CONF = Path(__file__).resolve().parents[2] / "deploy" / "proxy" / "nginx.conf"


def test_deploy_file_is_the_production_rendering() -> None:
    assert NGINX_CONF.read_text() == proxy.render(proxy.PRODUCTION), (
        "deploy/proxy/nginx.conf is stale: regenerate it with "
        "python -c 'from cds_service.serving import proxy; print(proxy.render(), end=\"\")' > deploy/proxy/nginx.conf"
    )


def test_production_shape() -> None:
    text = NGINX_CONF.read_text()
    directives = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert not any(line.startswith("daemon") for line in directives)
    assert "listen 8080 default_server;" in directives
    assert "server 127.0.0.1:8000 max_fails=0;" in directives
    assert "server_tokens off;" in directives
    assert "proxy_request_buffering on;" in directives
    for path in re.findall(r"^\s*(?:pid|\w+_temp_path)\s+(\S+);", text, re.MULTILINE):
        assert path.startswith("/tmp/"), path
    assert re.search(r"client_header_timeout \d+s;", text) and re.search(r"client_body_timeout \d+s;", text)


@pytest.mark.skipif(proxy.find_nginx() is None, reason="nginx is not installed (.ci/run installs it)")
def test_nginx_accepts_the_file(tmp_path: Path) -> None:
    rendered = proxy.render(proxy.ProxyConfig(runtime_dir=str(tmp_path), listen="127.0.0.1:1"))
    path = tmp_path / "nginx.conf"
    path.write_text(rendered)
    result = subprocess.run(
        [proxy.find_nginx(), "-t", "-p", str(tmp_path), "-c", str(path), "-g", "daemon off;"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
