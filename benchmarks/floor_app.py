"""The floor of any JSON CDS service: Flask reads the body, orjson parses it, the answer is ``[]``.

    gunicorn -c deploy/gunicorn.conf.py benchmarks.floor_app:app     (cwd: the repository)

Used by ``comparison_benchmark.py`` under the same gunicorn configuration as the service, so the
difference between the two is the service's own work (validation, index, facts, rules, cards,
audit) and nothing of the server, the client or the transport.
"""

from __future__ import annotations

import orjson
from flask import Flask, Response, request

app = Flask(__name__)
_EMPTY = orjson.dumps({"cards": []})


@app.get("/cds-services")
def discovery() -> Response:
    return Response(b'{"services": []}', mimetype="application/json")


@app.post("/cds-services/<service_id>")
def call(service_id: str) -> Response:
    orjson.loads(request.get_data())
    return Response(_EMPTY, mimetype="application/json")
