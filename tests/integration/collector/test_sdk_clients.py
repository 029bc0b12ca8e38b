"""The official PostHog and Segment Python SDKs, pointed at our API on 127.0.0.1.

Clients nobody here wrote send a few thousand events (identify and alias included) in their
normal batching mode; after `flush()` every event must be in the database exactly once, with the
right user, properties and timestamps, and sending the very same events again (same uuids /
messageIds, as an SDK retry does) must add nothing. The rate limit is set high: the SDKs retry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import segment.analytics as segment_analytics
from posthog import Posthog

from everreach.collector.sdk_formats.common import event_uuid

POSTHOG_KEY = "phc_sdk_test_project"
SEGMENT_KEY = "sdk_test_write_key"
USERS = 40
MESSAGES_PER_USER = 50  # 40 x (50 + 1 signup) = 2040 plan events per SDK, plus system events


@pytest.fixture(scope="module")
def sdk_api(start_api) -> Iterator[httpx.Client]:
    with start_api(
        posthog_project_keys=POSTHOG_KEY,
        segment_write_keys=SEGMENT_KEY,
        rate_limit_events=1_000_000,
    ) as client:
        yield client


def host(api: httpx.Client) -> str:
    return str(api.base_url).rstrip("/")


def rows(db: psycopg.Connection[Any], table: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """event_id -> (event_name, user_id, anonymous_id, occurred_at, properties) of `table`."""
    found = db.execute(
        f"SELECT event_id, event_name, user_id, anonymous_id, occurred_at, properties "
        f"FROM {table} WHERE event_id = ANY(%s)",
        (ids,),
    ).fetchall()
    return {row[0]: row[1:] for row in found}


def links(db: psycopg.Connection[Any], user_ids: list[str]) -> set[tuple[str, str, str]]:
    return set(
        db.execute(
            "SELECT anonymous_id, user_id, source FROM identity_links WHERE user_id = ANY(%s)",
            (user_ids,),
        ).fetchall()
    )


def quarantined(db: psycopg.Connection[Any], ids: list[uuid.UUID]) -> int:
    return db.execute(
        "SELECT count(*) FROM quarantined_events WHERE event_id = ANY(%s)", (ids,)
    ).fetchone()[0]


# --- PostHog ---------------------------------------------------------------------------------


class PosthogScript:
    """The calls an app makes: anonymous signup, $identify, alias, then identified events."""

    def __init__(self) -> None:
        base = datetime.now(UTC) - timedelta(hours=1)
        self.users = [str(uuid.uuid4()) for _ in range(USERS)]
        self.anons = [str(uuid.uuid4()) for _ in range(USERS)]
        self.plan: dict[uuid.UUID, tuple[Any, ...]] = {}  # id -> expected row
        self.system: dict[uuid.UUID, str] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        for i, (user, anon) in enumerate(zip(self.users, self.anons, strict=True)):
            at = base + timedelta(seconds=i)
            self._plan(
                "signup_started",
                None,
                anon,
                at,
                {"method": "email", "$process_person_profile": False},
                distinct_id=anon,
            )
            self._system("$identify", at, distinct_id=user, properties={"$anon_distinct_id": anon})
            self._system("$pageview", at, distinct_id=user, properties={"$current_url": "/home"})
            eid = uuid.uuid4()
            self.system[eid] = "$create_alias"
            self.calls.append(
                (
                    "alias",
                    {"previous_id": f"legacy-{anon}", "distinct_id": user, "uuid": str(eid)},
                )
            )
            for n in range(MESSAGES_PER_USER):
                props = {"contact_id": f"contact-{n}", "channel": "sms", "length": n}
                self._plan(
                    "message_sent",
                    user,
                    None,
                    at + timedelta(microseconds=n + 1),
                    props,
                    distinct_id=user,
                )

    def _plan(self, name, user, anon, at, props, **call) -> None:
        eid = uuid.uuid4()
        self.plan[eid] = (name, user, anon, at, props)
        self.calls.append(("capture", {"event": name, "properties": props, "timestamp": at,
                                       "uuid": str(eid), **call}))  # fmt: skip

    def _system(self, name: str, at: datetime, **call: Any) -> None:
        eid = uuid.uuid4()
        self.system[eid] = name
        self.calls.append(("capture", {"event": name, "timestamp": at, "uuid": str(eid), **call}))

    def send(self, api_host: str) -> list[Exception]:
        errors: list[Exception] = []
        client = Posthog(
            POSTHOG_KEY,
            host=api_host,
            gzip=True,
            flush_at=100,
            on_error=lambda error, _batch: errors.append(error),
        )
        for method, kwargs in self.calls:
            getattr(client, method)(**kwargs)
        client.flush(timeout_seconds=None)
        client.shutdown()
        return errors


def test_posthog_python_sdk_events_land_once_with_user_properties_and_time(sdk_api, db):
    script = PosthogScript()
    assert script.send(host(sdk_api)) == []

    plan_ids, system_ids = list(script.plan), list(script.system)
    stored = rows(db, "app_events", plan_ids)
    assert len(stored) == len(plan_ids) == USERS * (MESSAGES_PER_USER + 1)
    for eid, (name, user, anon, at, props) in script.plan.items():
        got_name, got_user, got_anon, got_at, got_props = stored[eid]
        assert (got_name, got_user, got_anon, got_at) == (name, user, anon, at)
        assert got_props.items() >= props.items()
        assert got_props["$lib"] == "posthog-python"
    system = rows(db, "sdk_system_events", system_ids)
    assert {eid: row[0] for eid, row in system.items()} == script.system
    assert rows(db, "app_events", system_ids) == {}  # kept apart from the plan events
    assert quarantined(db, plan_ids + system_ids) == 0
    expected_links = {
        (a, u, "posthog_identify") for a, u in zip(script.anons, script.users, strict=True)
    }
    expected_links |= {
        (f"legacy-{a}", u, "posthog_alias") for a, u in zip(script.anons, script.users, strict=True)
    }
    assert links(db, script.users) == expected_links

    assert script.send(host(sdk_api)) == []  # the same uuids again, as an SDK retry sends them
    assert db.execute(
        "SELECT (SELECT count(*) FROM app_events WHERE event_id = ANY(%(ids)s)) "
        "+ (SELECT count(*) FROM sdk_system_events WHERE event_id = ANY(%(ids)s))",
        {"ids": plan_ids + system_ids},
    ).fetchone() == (len(plan_ids) + len(system_ids),)


# --- Segment ---------------------------------------------------------------------------------


class SegmentScript:
    """identify and alias, then tracks and a page per user; half the messageIds are not UUIDs
    (as analytics.js's `ajs-...` ids), so they must map to the same uuid5 every time."""

    def __init__(self) -> None:
        base = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
        self.users = [f"user-{uuid.uuid4()}" for _ in range(USERS)]
        self.anons = [f"anon-{uuid.uuid4()}" for _ in range(USERS)]
        self.plan: dict[uuid.UUID, tuple[Any, ...]] = {}
        self.system: dict[uuid.UUID, str] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        for i, (user, anon) in enumerate(zip(self.users, self.anons, strict=True)):
            at = base + timedelta(seconds=i)
            self._call("identify", None, user_id=user, anonymous_id=anon, traits={"plan": "pro"})
            self._call("alias", None, previous_id=f"legacy-{anon}", user_id=user)
            self._call("page", None, user_id=user, name="Home")
            for n in range(MESSAGES_PER_USER + 1):
                props = {"contact_id": f"contact-{n}", "channel": "email", "length": n}
                when = at + timedelta(milliseconds=n + 1)  # analytics-python keeps milliseconds
                self._call("track", (user, anon, when, props), user_id=user, anonymous_id=anon,
                           event="message_sent", properties=props, timestamp=when)  # fmt: skip

    def _call(self, method: str, expected: tuple[Any, ...] | None, **kwargs: Any) -> None:
        message_id = str(uuid.uuid4()) if len(self.calls) % 2 else f"ajs-next-{uuid.uuid4().hex}"
        eid = event_uuid("segment", message_id)
        if expected is None:
            self.system[eid] = method
        else:
            self.plan[eid] = expected
        self.calls.append((method, {"message_id": message_id, **kwargs}))

    def send(self, api_host: str) -> list[Exception]:
        errors: list[Exception] = []
        client = segment_analytics.Client(
            SEGMENT_KEY,
            host=api_host,
            gzip=True,
            upload_size=100,
            on_error=lambda error, _batch: errors.append(error),
        )
        for method, kwargs in self.calls:
            getattr(client, method)(**kwargs)
        client.flush()
        client.shutdown()
        return errors


def test_segment_python_sdk_events_land_once_with_user_properties_and_time(sdk_api, db):
    script = SegmentScript()
    assert script.send(host(sdk_api)) == []

    plan_ids, system_ids = list(script.plan), list(script.system)
    stored = rows(db, "app_events", plan_ids)
    assert len(stored) == len(plan_ids) == USERS * (MESSAGES_PER_USER + 1)
    for eid, (user, anon, at, props) in script.plan.items():
        name, got_user, got_anon, got_at, got_props = stored[eid]
        assert (name, got_user, got_anon, got_at) == ("message_sent", user, anon, at)
        assert got_props == {
            **props,
            "$lib": "analytics-python",
            "$lib_version": got_props["$lib_version"],
        }
    system = rows(db, "sdk_system_events", system_ids)
    assert {eid: row[0] for eid, row in system.items()} == script.system
    assert quarantined(db, plan_ids + system_ids) == 0
    expected_links = {
        (a, u, "segment_identify") for a, u in zip(script.anons, script.users, strict=True)
    }
    expected_links |= {
        (f"legacy-{a}", u, "segment_alias") for a, u in zip(script.anons, script.users, strict=True)
    }
    # Tracks carrying both ids link them too, but the identify call names the link it made.
    assert links(db, script.users) == expected_links

    assert script.send(host(sdk_api)) == []  # the same messageIds again
    assert db.execute(
        "SELECT (SELECT count(*) FROM app_events WHERE event_id = ANY(%(ids)s)) "
        "+ (SELECT count(*) FROM sdk_system_events WHERE event_id = ANY(%(ids)s))",
        {"ids": plan_ids + system_ids},
    ).fetchone() == (len(plan_ids) + len(system_ids),)
