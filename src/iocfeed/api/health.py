"""Unauthenticated probes: /healthz (the process answers) and /readyz (the database answers)."""

from __future__ import annotations

from litestar import Request, Response, get
from sqlalchemy import text

from iocfeed.api.errors import envelope, request_id_of
from iocfeed.api.services import services


@get("/healthz", summary="Liveness", tags=["health"], sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", summary="Readiness: the database can be reached", tags=["health"], sync_to_thread=True)
def readyz(request: Request) -> Response:
    try:
        with services(request).read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return envelope(503, "unavailable", "The database cannot be reached.", request_id_of(request))
    return Response({"status": "ready"})
