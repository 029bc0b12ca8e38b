"""Erasure end to end: a person's trail through the real API, Postgres, the forwarder, the
dataset files and Dagster's sensors, then gone everywhere, and kept out afterwards.

The person signs up on a device (pre-auth events under its anonymous id), is identified, writes
prompts and gets responses over three days, has quarantined and SDK system events, a reset
token, forwarded events (one left pending, one dead) and three days of dataset partitions.
Someone else shares those days and has a fourth day of their own. The admin erases the person
through the API; the Dagster sensors (evaluated as the daemon would, on an ephemeral instance)
rebuild what held them; PostHog (a real HTTP server here) is asked to delete them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from api.app import create_app
from api.server import serve_in_thread
from everreach.accounts.tokens import TokenCodec
from everreach.platform.migrations import scratch_database
from tests.conftest import TEST_JWT_SECRET, make_settings
from tests.forwarding_support import Receiver, eventually
from tests.helpers import account_bearer, bearer, new_id, prompt_props, response_props
from tests.privacy_support import (
    DagsterHarness,
    dated,
    file_digests,
    files_holding,
    past_day,
    send,
    table_counts,
    tables_holding,
)

SDK_KEY = "phc_sdk_test"
DAYS = [past_day(4), past_day(3), past_day(2)]  # the person's days (and the other's)
OTHER_ONLY_DAY = past_day(5)  # only the other person: its files must not change


@dataclass
class Person:
    user_id: str
    email: str
    anonymous_id: str
    texts: list[str]

    @property
    def traces(self) -> list[str]:
        return [self.user_id, self.email, self.anonymous_id, *self.texts]


def sign_up(api: httpx.Client) -> tuple[str, str]:
    email = f"person-{uuid.uuid4().hex[:10]}@example.com"
    response = api.post("/v1/auth/signup", json={"email": email, "password": "a long password"})
    assert response.status_code == 201, response.text
    return response.json()["user_id"], email


def live_a_little(api: httpx.Client, tokens: TokenCodec, label: str, days: list) -> Person:
    """Sign up on a device, then prompts, responses and copies over `days`."""
    user_id, email = sign_up(api)
    device = f"device-{label}-{uuid.uuid4().hex[:8]}"
    texts: list[str] = []
    first = days[0]
    send(
        api,
        [
            dated("signup_started", first, 8, {"method": "email"}, anonymous_id=device),
            dated(
                "signup_completed",
                first,
                8,
                {"method": "email", "user_id": user_id},
                anonymous_id=device,
            ),
        ],
    )
    for day in days:
        prompt_text = f"{label} prompt {uuid.uuid4().hex}"
        response_text = f"{label} response {uuid.uuid4().hex}"
        texts += [prompt_text, response_text]
        prompt = prompt_props(text=prompt_text)
        response = response_props(prompt["prompt_id"], text=response_text)
        result = send(
            api,
            [
                dated("prompt_submitted", day, 10, prompt, anonymous_id=device),
                dated("ai_response_generated", day, 10, response, anonymous_id=device),
                dated("response_copied", day, 11, {"response_id": response["response_id"]}),
            ],
            bearer(tokens, user_id),
        )
        assert result["accepted"] == 3, result
    return Person(user_id, email, device, texts)


@pytest.fixture(scope="module")
def world(
    pg_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, Receiver, DagsterHarness, str]]:
    with scratch_database(pg_server_url, "everreach_erasure") as url, Receiver() as posthog:
        home = tmp_path_factory.mktemp("erasure-home")
        settings = make_settings(
            home,
            url,
            posthog_api_key="phc_forward_test",
            posthog_host=posthog.url,
            posthog_personal_api_key="phx_test",
            posthog_project_id="42",
            posthog_api_host=posthog.url,
            posthog_project_keys=SDK_KEY,
            forward_poll_interval_s=0.1,
            rate_limit_events=1_000_000,
        )
        harness = DagsterHarness(settings, url, home / "datasets")
        with (
            serve_in_thread(create_app(settings, url)) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as api,
        ):
            yield api, posthog, harness, url


def outbox_quiet(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        (pending,) = conn.execute(
            "SELECT count(*) FROM outbox WHERE status = 'pending' AND next_attempt_at < now()"
        ).fetchone()
    return pending == 0


def test_an_erased_person_is_gone_from_every_table_file_and_outbox_and_stays_out(world) -> None:
    api, posthog, harness, url = world
    tokens = TokenCodec(TEST_JWT_SECRET)
    admin = account_bearer(tokens, url, role="admin")

    person = live_a_little(api, tokens, "erased", DAYS)
    other = live_a_little(api, tokens, "kept", [OTHER_ONLY_DAY, *DAYS])
    # Quarantined: an unplanned event (signed in) and a malformed pre-auth one (device only).
    quarantined = send(
        api,
        [
            dated("totally_unplanned", DAYS[1], 9, {"note": person.texts[0]}),
            dated("signup_started", DAYS[1], 9, {"method": "fax"}, anonymous_id="x"),
        ],
        bearer(tokens, person.user_id),
    )
    assert quarantined["quarantined"] == 2
    send(api, [dated("signup_started", DAYS[1], 9, {"method": "fax"})], {})  # someone anonymous
    unplanned_anonymous = dated(
        "signup_started", DAYS[1], 9, {"method": "fax"}, anonymous_id=person.anonymous_id
    )
    assert send(api, [unplanned_anonymous])["quarantined"] == 1
    # SDK system events and an identify call from the PostHog SDK.
    sdk = api.post(
        "/batch/",
        json={
            "api_key": SDK_KEY,
            "batch": [
                {
                    "event": "$identify",
                    "distinct_id": person.user_id,
                    "properties": {"$anon_distinct_id": person.anonymous_id},
                    "uuid": new_id(),
                },
                {"event": "$pageview", "distinct_id": person.user_id, "uuid": new_id()},
            ],
        },
    )
    assert sdk.status_code == 200, sdk.text
    # A reset token: its request is answered first, the token written just after.
    assert api.post("/v1/auth/request-reset", json={"email": person.email}).status_code == 202

    def reset_written() -> bool:
        with psycopg.connect(url) as conn:
            conn.execute("SET ROLE everreach_service")
            return bool(conn.execute("SELECT count(*) FROM password_resets").fetchone()[0])

    eventually(reset_written)
    # Forwarded to PostHog; then one of the person's rows is dead and one pending (later).
    eventually(lambda: outbox_quiet(url))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE outbox SET status = 'dead' WHERE id = (SELECT min(id) FROM outbox "
            "WHERE payload ->> 'distinct_id' = %s AND status = 'delivered')",
            (person.user_id,),
        )
        conn.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = now() + interval '1 hour' "
            "WHERE id = (SELECT max(id) FROM outbox WHERE payload ->> 'distinct_id' = %s "
            "AND status = 'delivered')",
            (person.user_id,),
        )
    harness.build([OTHER_ONLY_DAY, *DAYS])
    root = harness.root
    before_files = file_digests(root)
    assert files_holding(root, person.texts)  # the test would prove nothing otherwise
    held = tables_holding(url, person.traces)
    for table in ("app_events", "quarantined_events", "sdk_system_events", "prompts"):
        assert f"public.{table}" in held, held
    assert {"public.responses", "public.identity_links", "public.outbox", "public.users"} <= set(
        held
    )
    assert "analytics.ml_response_samples" in held and "analytics.stg_identity" in held

    # A dry run counts exactly and changes nothing.
    counts = table_counts(url)
    dry = api.post(
        f"/v1/admin/users/{person.user_id}/erase", params={"dry_run": True}, headers=admin
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] and dry.json()["receipt_id"] is None
    assert table_counts(url) == counts
    # Only an admin may erase.
    refused = api.post(
        f"/v1/admin/users/{person.user_id}/erase", headers=bearer(tokens, person.user_id)
    )
    assert refused.status_code == 403

    erased = api.post(f"/v1/admin/users/{person.user_id}/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    receipt = erased.json()
    assert receipt["deleted_rows"] == dry.json()["deleted_rows"]
    deleted = receipt["deleted_rows"]
    assert deleted["app_events"] == 2 + 3 * len(DAYS)
    assert deleted["prompts"] == deleted["responses"] == len(DAYS)
    assert deleted["quarantined_events"] == 3  # two signed in, one from their device
    assert deleted["sdk_system_events"] == 2
    assert deleted["users"] == 1 and deleted["password_resets"] == 1
    assert deleted["identity_links"] >= 1 and deleted["outbox"] == deleted["app_events"]
    assert receipt["days"] == [d.isoformat() for d in DAYS]
    assert receipt["posthog_deletion_queued"] and receipt["rebuilt_at"] is None
    assert person.user_id not in json.dumps(receipt)

    # PostHog is asked to delete the person, through the outbox; the request's payload (their
    # ids) is emptied once delivered.
    posthog.wait_for(lambda got: any("bulk_delete" in r.path for r in got))
    deletion = next(r for r in posthog.received if "bulk_delete" in r.path)
    assert deletion.path == "/api/projects/42/persons/bulk_delete/"
    assert deletion.headers["authorization"] == "Bearer phx_test"
    assert sorted(deletion.json()["distinct_ids"]) == sorted([person.user_id, person.anonymous_id])
    eventually(lambda: "public.outbox" not in tables_holding(url, person.traces))

    # Dagster: the late-data sensor asks for the three days (once), the erasure sensor for
    # the models; after the runs the receipt is stamped rebuilt.
    late = harness.tick("late_data_freshness")
    assert sorted(r.partition_key for r in late.run_requests) == [d.isoformat() for d in DAYS]
    assert not harness.tick("late_data_freshness").run_requests  # once per change
    refresh = harness.tick("erasure_rebuild")
    assert len(refresh.run_requests) == 1
    harness.run(refresh.run_requests[0], "refresh_models")
    for request in late.run_requests:
        harness.run(request, "daily_partitions")
    assert not harness.tick("erasure_rebuild").run_requests
    caught_up = harness.tick("late_data_freshness")
    assert not caught_up.run_requests
    observed = {o.partition: o.metadata for o in caught_up.asset_events}
    assert sorted(observed) == [d.isoformat() for d in DAYS]
    assert all(m["late_rows"].value > 0 for m in observed.values())
    shown = api.get(f"/v1/admin/erasures/{receipt['receipt_id']}", headers=admin).json()
    assert shown["rebuilt_at"] is not None

    # Suppressed: nothing under their ids is stored again, from any endpoint.
    again = send(
        api,
        [dated("response_copied", DAYS[0], 12, {"response_id": new_id()})],
        bearer(tokens, person.user_id),
    )
    assert again["suppressed"] == 1 and again["results"][0]["status"] == "suppressed"
    device = send(
        api,
        [
            dated(
                "signup_started", DAYS[0], 12, {"method": "email"}, anonymous_id=person.anonymous_id
            )
        ],
    )
    assert device["suppressed"] == 1
    pageview = {"event": "$pageview", "distinct_id": person.user_id, "uuid": new_id()}
    sdk_again = api.post("/batch/", json={"api_key": SDK_KEY, "batch": [pageview]})
    assert sdk_again.status_code == 200 and sdk_again.json()["suppressed"] == 1
    kept = send(
        api,
        [dated("response_copied", DAYS[0], 12, {"response_id": new_id()})],
        bearer(tokens, other.user_id),
    )
    assert kept["accepted"] == 1
    # ...which is a late event of an already built day: the sensor catches that day up too.
    late_event = harness.tick("late_data_freshness").run_requests
    assert [(r.partition_key, r.tags["everreach/late_rows"]) for r in late_event] == [
        (DAYS[0].isoformat(), "1")
    ]
    harness.run(late_event[0], "daily_partitions")

    # Gone from every table and every file; the other person's rows and untouched day stay.
    assert tables_holding(url, person.traces) == {}
    assert files_holding(root, person.traces) == []
    after_files = file_digests(root)
    untouched = [name for name in before_files if f"dt={OTHER_ONLY_DAY}" in name]
    assert untouched and all(after_files[name] == before_files[name] for name in untouched)
    rebuilt_days_text = files_holding(root, other.texts)
    for day in DAYS:
        assert any(f"dt={day}" in name and name.endswith(".csv") for name in rebuilt_days_text)
    with psycopg.connect(url) as conn:
        (others,) = conn.execute(
            "SELECT count(*) FROM prompts WHERE user_id = %s", (other.user_id,)
        ).fetchone()
    assert others == 1 + len(DAYS)

    # A second erasure changes nothing: same receipt, same rows, same files, no new runs.
    counts, digests = table_counts(url), file_digests(root)
    second = api.post(f"/v1/admin/users/{person.user_id}/erase", headers=admin).json()
    assert second["already_erased"] and second["receipt_id"] == receipt["receipt_id"]
    assert table_counts(url) == counts and file_digests(root) == digests
    assert not harness.tick("late_data_freshness").run_requests
    assert not harness.tick("erasure_rebuild").run_requests
