"""Small builders shared by tests: events in the collector's wire format and as the collector
prepares them, auth headers, a probe for the Redis server that the external tests skip without,
and a reader of the API's /metrics."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
from prometheus_client.parser import text_string_to_metric_families

from everreach.accounts.tokens import TokenCodec
from everreach.collector import AttributedEvent, RequestContext
from everreach.collector.pipeline import PreparedEvent, prepare_events
from everreach.datasets.sql_models import SqlModel
from everreach.plan import TrackingPlan, load_plan
from everreach.privacy import Pseudonymizer


def new_id() -> str:
    return str(uuid.uuid4())


@functools.cache
def default_plan() -> TrackingPlan:
    """analytics/events.yml, loaded once per process."""
    return load_plan(None)


def prepared(
    items: list[AttributedEvent], received_at: datetime | None = None
) -> list[PreparedEvent]:
    """`items` as the collector prepares one request of them under the default plan and limits
    (for tests and benchmarks that drive the store below HTTP)."""
    return prepare_events(
        items,
        RequestContext(client_ip="127.0.0.1", received_at=received_at or datetime.now(UTC)),
        None,
        default_plan(),
        skew_threshold_s=300,
        max_text_chars=5000,
        pseudonyms=Pseudonymizer("test-pseudonym-key-0123456789"),
    )


def event(name: str, props: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A wire event with a fresh event_id and the current timestamp unless given."""
    body: dict[str, Any] = {
        "name": name,
        "props": props or {},
        "event_id": new_id(),
        "timestamp": datetime.now(UTC).isoformat(),
    }
    body.update(fields)
    return body


def bearer(tokens: TokenCodec, user_id: str, role: str = "user") -> dict[str, str]:
    """A machine token for `user_id` (no account behind it, so never more than a user)."""
    return {"authorization": f"Bearer {tokens.issue(user_id, role=role, account=False)}"}


def account_bearer(tokens: TokenCodec, database_url: str, role: str = "user") -> dict[str, str]:
    """The token of a new account with `role`, inserted straight into `users` (no Argon2 work).

    Its password changed a minute ago, so a token issued now is not older than the change.
    """
    user_id = new_id()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (user_id, email, password_hash, role, password_changed_at) "
            "VALUES (%s, %s, 'no password', %s, now() - interval '1 minute')",
            (user_id, f"{user_id}@example.com", role),
        )
    return {"authorization": f"Bearer {tokens.issue(user_id, role=role)}"}


def prompt_props(**overrides: Any) -> dict[str, Any]:
    props = {"prompt_id": new_id(), "text": "Draft a birthday note", "model": "gpt-4o-mini"}
    props.update(overrides)
    return props


def response_props(prompt_id: str, **overrides: Any) -> dict[str, Any]:
    props = {
        "response_id": new_id(),
        "prompt_id": prompt_id,
        "model": "gpt-4o-mini",
        "text": "Happy birthday!",
        "tokens_out": 42,
        "finish_reason": "stop",
        "cost_usd": 0.0012,
        "latency_ms": 850,
    }
    props.update(overrides)
    return props


def serve_args(port: int) -> list[str]:
    """`python -m everreach_cli serve` on `port`, for tests that run the API in its own process."""
    return ["-m", "everreach_cli", "serve", "--port", str(port)]


def api_env(database_url: str, home: Path, **extra: str) -> dict[str, str]:
    """Environment of an API process for a test: its database, its home, a limit out of the way."""
    return {
        "EVERREACH_DATABASE_URL": database_url,
        "EVERREACH_HOME": str(home),
        "EVERREACH_RATE_LIMIT_EVENTS": "1000000",
        "EVERREACH_LOG_LEVEL": "WARNING",
        **extra,
    }


def redis_answers(url: str) -> bool:
    """Whether a Redis server answers at `url` (tests that need one skip without it)."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def metric_value(metrics_text: str, name: str, **labels: str) -> float:
    """The value of the sample `name` whose labels include `labels` in a Prometheus text
    exposition (the API's /metrics); 0 when there is none (a labelled counter appears only once
    it has been incremented)."""
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return sample.value
    return 0.0


def hourly_model(prefix: str) -> SqlModel:
    """A new partitioned SQL model (a unique name starting with `prefix`) of one row per hour of
    its window, for tests of materializing models; its table is `analytics.<name>`."""
    return SqlModel(
        name=f"{prefix}_{uuid.uuid4().hex[:8]}",
        body=(
            "SELECT at FROM generate_series({{ partition_start }}, {{ partition_end }}"
            " - interval '1 hour', interval '1 hour') AS at"
        ),
        materialized="partitioned",
        group="test",
        description="",
        partition_column="at",
        refs=(),
    )
