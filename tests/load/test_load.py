"""A short run of the load test under gunicorn (the full run: python tests/load/load_test.py --spawn)."""

from __future__ import annotations

import json

import pytest

from .load_test import main


@pytest.mark.slow
@pytest.mark.integration
def test_short_concurrent_run_has_no_5xx_and_no_worker_crash(capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = main(["--spawn", "--clients", "5", "--duration", "5", "--workers", "2"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["server_errors"] == 0
    assert not summary["connection_errors"]
    assert summary["worker_boots"] == 2
    assert summary["requests"] > 20
    assert exit_code == 0, summary
