from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency

from app.api.admission import RETRY_AFTER_SECONDS
from app.api.schemas import Health
from app.api.services import Services


@get(["/health", "/healthcheck"], tags=["health"])
async def health(services: NamedDependency[Services]) -> Response[Health]:
    """Answers from the event loop, so it stays fast while inference runs in worker threads.

    503 while draining for shutdown, so load balancers stop routing here.
    """
    if services.admission.draining:
        return Response(Health(status="draining"), status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return Response(Health(status="healthy"), status_code=200)
