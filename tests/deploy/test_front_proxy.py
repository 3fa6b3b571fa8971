"""deploy/proxy/nginx.conf: the production rendering of the one template, valid for nginx, fit to
run read-only as non-root."""

from __future__ import annotations

import contextlib
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


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.integration
@pytest.mark.skipif(proxy.find_nginx() is None, reason="nginx is not installed (.ci/run installs it)")
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_nginx_ends_when_serve_is_killed(tmp_path: Path) -> None:
    """A SIGKILLed ``rrmm-cds serve`` runs no exit hook; its nginx must not be left holding the
    public port (a new serve could not start, and the orphan would answer 502)."""
    import os
    import signal
    import socket
    import sys
    import time

    import requests
    from integration.servers import free_port

    env = {**os.environ, "RRMM_CDS_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "cds_service.cli", "serve", "--port", str(port), "--workers", "1"],
                             cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nginx: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not nginx:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    nginx = [c for c in _children(serve.pid)
                             if Path(f"/proc/{c}/comm").read_text().strip() == "nginx"]
            time.sleep(0.2)
        assert nginx, "serve did not come up behind its nginx"
        serve.send_signal(signal.SIGKILL)
        serve.wait(10)
        end = time.monotonic() + 10
        while time.monotonic() < end and any(_alive(pid) for pid in nginx):
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in nginx), "nginx outlived its serve master"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(10)
        for pid in nginx:  # an orphan this test found must not outlive it either
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # its own session: master and workers
