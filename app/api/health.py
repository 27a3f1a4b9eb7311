"""Health and metrics: open like a load balancer or scraper needs them, fast from the event loop."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from app.domain.errors import RETRY_AFTER_SECONDS
from app.schemas.info import Health
from app.services.admission import Admission
from app.services.metrics import Metrics

# The classic text format every Prometheus understands; Litestar appends the charset itself.
METRICS_MEDIA_TYPE = CONTENT_TYPE_PLAIN_0_0_4.removesuffix("; charset=utf-8")


@get(["/health", "/healthcheck"], tags=["health"])
async def health(admission: NamedDependency[Admission]) -> Response[Health]:
    """Answers from the event loop, so it stays fast while inference runs in worker threads.

    503 while draining for shutdown, so load balancers stop routing here.
    """
    if admission.draining:
        return Response(Health(status="draining"), status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return Response(Health(status="healthy"), status_code=200)


@get("/metrics", tags=["health"], media_type=METRICS_MEDIA_TYPE)
async def metrics(metrics: NamedDependency[Metrics]) -> Response[bytes]:
    """Prometheus exposition; open like the health check, so scrapers need no key."""
    return Response(metrics.exposition(), media_type=METRICS_MEDIA_TYPE)
