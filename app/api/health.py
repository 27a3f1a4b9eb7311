from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

# The classic text format every Prometheus understands; Litestar appends the charset itself.
METRICS_MEDIA_TYPE = CONTENT_TYPE_PLAIN_0_0_4.removesuffix("; charset=utf-8")

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


@get("/metrics", tags=["health"], media_type=METRICS_MEDIA_TYPE)
async def metrics(services: NamedDependency[Services]) -> Response[bytes]:
    """Prometheus exposition; open like the health check, so scrapers need no key."""
    return Response(services.metrics.exposition(), media_type=METRICS_MEDIA_TYPE)
