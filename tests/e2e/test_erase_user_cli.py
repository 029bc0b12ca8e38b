"""`everreach erase-user` on the default path: the embedded Postgres and Dagster's persistent
instance beside it, through the real CLI and a real `everreach serve`."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from api.server import free_port
from everreach.accounts.tokens import TokenCodec
from tests.conftest import TEST_JWT_SECRET
from tests.e2e.test_embedded_default import EVERREACH, cli_env
from tests.helpers import bearer, prompt_props, response_props
from tests.privacy_support import dated, past_day, send

pytestmark = pytest.mark.slow

DAYS = [past_day(3), past_day(2)]


def env(home: Path) -> dict[str, str]:
    return {**cli_env(home), "EVERREACH_JWT_SECRET": TEST_JWT_SECRET}


def run(home: Path, *args: str) -> str:
    result = subprocess.run(
        [EVERREACH, *args], env=env(home), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def seed(home: Path) -> tuple[str, list[str]]:
    """A person's account, device and two days of prompts, through a real `everreach serve`."""
    port = free_port()
    serve = subprocess.Popen(
        [EVERREACH, "serve", "--port", str(port)],
        env=env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a loaded box starts Postgres slowly
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "everreach serve did not become ready"
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=30) as api:
            signup = api.post(
                "/v1/auth/signup",
                json={"email": "erase.me@example.com", "password": "a long password"},
            )
            user_id = signup.json()["user_id"]
            texts = []
            for day in DAYS:
                prompt = prompt_props(text=f"cli prompt {day}")
                texts.append(prompt["text"])
                events = [
                    dated("prompt_submitted", day, 9, prompt, anonymous_id="cli-device"),
                    dated("ai_response_generated", day, 9, response_props(prompt["prompt_id"])),
                ]
                send(api, events, bearer(TokenCodec(TEST_JWT_SECRET), user_id))
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    return user_id, texts


def test_erase_user_deletes_rebuilds_the_days_with_dagster_and_is_idempotent(tmp_path) -> None:
    home = tmp_path / "home"
    user_id, texts = seed(home)

    dry = run(home, "erase-user", user_id, "--dry-run")
    assert f"would erase user {user_id}" in dry and "rebuilding" not in dry
    erased = run(home, "erase-user", user_id)
    assert f"erased user {user_id}" in erased
    assert "app_events                 4" in erased and "users                      1" in erased
    assert f"days to rebuild      {DAYS[0]}, {DAYS[1]}" in erased
    assert "rebuilt: no dataset file or model table holds the person any more" in erased
    root = home.resolve() / "datasets" / "ml_response_samples"
    for day in DAYS:
        files = list((root / f"dt={day}").iterdir())
        assert {f.name for f in files} == {"part-00000.parquet", "part-00000.csv", "_manifest.json"}
        assert not any(text.encode() in f.read_bytes() for f in files for text in texts)

    again = run(home, "erase-user", user_id)
    assert "was already erased" in again and "nothing changed" in again
