"""The forwarder's rules without I/O: backoff and window, how answers are judged, signatures."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from everreach.forwarding.backoff import RetryPolicy
from everreach.forwarding.delivery import Verdict, failed_to_send, judge, parse_retry_after
from everreach.forwarding.destinations import configured_senders
from everreach.forwarding.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSender
from everreach.forwarding.worker import Forwarder
from everreach.platform.settings import Settings

DEFAULT = RetryPolicy(rng=random.Random(5))


def test_waits_stay_between_10_seconds_and_5_minutes_and_grow():
    for attempts in range(1, 30):
        for _ in range(50):
            (wait,) = DEFAULT.delays_s([attempts])
            assert 10.0 <= wait <= 300.0
    first = [DEFAULT.delays_s([1])[0] for _ in range(200)]
    fourth = [DEFAULT.delays_s([4])[0] for _ in range(200)]
    assert max(first) <= 20.0 and min(fourth) >= 40.0  # 10-20 s, then 20-40, 40-80, 80-160
    capped = [DEFAULT.delays_s([12])[0] for _ in range(200)]
    assert min(capped) >= 150.0 and max(capped) <= 300.0


def test_jitter_spreads_batches_but_keeps_a_batch_together():
    draws = {round(DEFAULT.delays_s([3])[0], 6) for _ in range(100)}
    assert len(draws) > 50  # batches failing at the same moment come back at different times
    same_batch = DEFAULT.delays_s([3, 3, 3, 1])
    assert same_batch[0] == same_batch[1] == same_batch[2] and same_batch[3] <= same_batch[0]


def test_retry_after_is_a_floor_not_a_ceiling():
    assert DEFAULT.delays_s([1], retry_after_s=120.0) == [120.0]
    assert DEFAULT.delays_s([8], retry_after_s=1.0)[0] >= 150.0


def test_the_window_ends_retries():
    policy = RetryPolicy(window_s=4 * 3600.0)
    assert not policy.gives_up(queued_for_s=3600.0, delay_s=300.0)
    assert policy.gives_up(queued_for_s=4 * 3600.0 - 100.0, delay_s=300.0)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (202, Verdict.DELIVERED),
        (400, Verdict.PERMANENT),
        (401, Verdict.PERMANENT),
        (404, Verdict.PERMANENT),
        (413, Verdict.PERMANENT),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (502, Verdict.RETRY),
        (503, Verdict.RETRY),
        (301, Verdict.RETRY),
    ],
)
def test_answers_are_judged_by_status(status, verdict):
    assert judge(httpx.Response(status, text="nope")).verdict is verdict


def test_a_failure_keeps_the_status_the_body_and_retry_after():
    attempt = judge(httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"))
    assert (attempt.error, attempt.retry_after_s) == ("HTTP 429: slow down", 7.0)
    assert len(judge(httpx.Response(500, text="x" * 10_000)).error or "") < 400


def test_no_answer_is_retried():
    attempt = failed_to_send(httpx.ConnectTimeout(""))
    assert attempt.verdict is Verdict.RETRY and attempt.error == "ConnectTimeout: no detail"


def test_retry_after_takes_seconds_or_an_http_date():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_webhook_signature_follows_the_documented_recipe():
    sender = WebhookSender("http://hooks.example/in", "s3cret", clock=lambda: 1_790_000_000.9)
    request = sender.request([{"event_id": "e1", "name": "signup_started"}])
    timestamp = request.headers[TIMESTAMP_HEADER]
    assert timestamp == "1790000000"
    expected = hmac.new(b"s3cret", b"1790000000." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers[SIGNATURE_HEADER], f"v1={expected}")


def test_webhook_without_a_secret_is_sent_unsigned():
    request = WebhookSender("http://hooks.example/in", None).request([{"event_id": "e1"}])
    assert SIGNATURE_HEADER not in request.headers and TIMESTAMP_HEADER not in request.headers


def test_a_lease_shorter_than_the_send_timeout_is_refused():
    settings = Settings(forward_timeout_s=10.0, forward_lease_s=10.0, posthog_api_key="phc_x")
    with pytest.raises(ValueError, match="must exceed the send timeout"):
        # no pool needed: the check runs before any I/O
        Forwarder(None, configured_senders(settings), settings)  # type: ignore[arg-type]
