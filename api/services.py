"""What the route handlers share for the life of the app: plan, pool, limiter, token codec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from psycopg_pool import AsyncConnectionPool

from everreach.accounts import TokenCodec
from everreach.plan import TrackingPlan
from everreach.platform import RateLimiter, Settings
from everreach.privacy import IdentifierHasher


@dataclass
class Services:
    settings: Settings
    plan: TrackingPlan
    pool: AsyncConnectionPool
    limiter: RateLimiter
    tokens: TokenCodec
    forward_to: tuple[str, ...]  # outbox destinations, fixed by the settings at start-up
    identifiers: IdentifierHasher  # keyed hashes of suppressed (erased) identifiers


def services(request: ASGIConnection[Any, Any, Any, Any]) -> Services:
    """The app's services, from the request's app state."""
    return request.app.state.services
