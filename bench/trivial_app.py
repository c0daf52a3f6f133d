"""The framework's ceiling: a FastAPI POST endpoint that does no scoring.

It parses the same JSON body the scorer gets and answers a small JSON
document, so its figures are what FastAPI and uvicorn cost on this machine.
Served by uvicorn with the scorer's own settings (one worker, same loop and
HTTP implementation): ``uvicorn bench.trivial_app:app``.
"""

from __future__ import annotations

import sys

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

app = FastAPI(title="trivial endpoint (benchmark ceiling)")


@app.post("/predict")
async def predict(request: Request) -> Response:
    """Parse the body, count the rows, answer at once."""
    payload = orjson.loads(await request.body())
    rows = len(payload) if isinstance(payload, list) else 1
    return Response(orjson.dumps({"rows": rows}), media_type="application/json")


@app.get("/health/ready")
async def ready() -> dict[str, str]:
    """Always ready: there is nothing to load."""
    return {"status": "ready"}


def main(argv: list[str]) -> None:
    """Serve on 127.0.0.1:<port> with the scorer's uvicorn settings."""
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(argv[0]),
        workers=1,
        loop="auto",
        http="auto",
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
