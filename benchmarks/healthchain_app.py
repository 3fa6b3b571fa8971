"""HealthChain (FastAPI) answering patient-view with an empty rule: its framework cost alone.

    <healthchain venv>/bin/uvicorn healthchain_app:app --app-dir benchmarks --workers 1

Runs in its own virtual environment (``comparison_benchmark.py --healthchain-venv``, default
``benchmarks/.venvs/healthchain``, git-ignored: ``python3 -m venv benchmarks/.venvs/healthchain &&
benchmarks/.venvs/healthchain/bin/pip install healthchain uvicorn``). The hook is registered under
the service id of rrmm-cds, so both are called on the same path suffix.
"""

from __future__ import annotations

from healthchain.gateway import CDSHooksService, HealthChainAPI
from healthchain.models import CDSRequest, CDSResponse

app = HealthChainAPI()
cds = CDSHooksService()


@cds.hook("patient-view", id="rrmm-relapse-guidance")
def empty_rule(request: CDSRequest) -> CDSResponse:
    return CDSResponse(cards=[])


app.register_service(cds)
