"""Serving the app with uvicorn: in the foreground (`everreach serve`) or on a background thread
(the demo and the tests, which need a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from litestar import Litestar

from everreach.platform.settings import HTTP_KEEP_ALIVE_S


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _config(
    app: Litestar, host: str, port: int, access_log: bool, keep_alive_s: float
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=access_log,
        log_config=None,  # keep our logging configuration
        lifespan="on",
        timeout_graceful_shutdown=10,
        # uvicorn's own 5 s closes connections a client still holds: its next request on one
        # races the close and fails with "server disconnected" (settings.HTTP_KEEP_ALIVE_S).
        timeout_keep_alive=keep_alive_s,
    )


def serve_forever(app: Litestar, host: str, port: int, keep_alive_s: float) -> None:
    """Serve until SIGINT/SIGTERM, then drain and return."""
    uvicorn.Server(_config(app, host, port, access_log=True, keep_alive_s=keep_alive_s)).run()


def serve_workers(host: str, port: int, workers: int, keep_alive_s: float) -> None:
    """Serve with several worker processes (one per core), each building its own app."""
    uvicorn.run(
        "api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=keep_alive_s,
    )


@contextmanager
def serve_in_thread(
    app: Litestar,
    host: str = "127.0.0.1",
    port: int | None = None,
    startup_timeout_s: float = 30,
    keep_alive_s: float = HTTP_KEEP_ALIVE_S,
) -> Iterator[str]:
    """Run the app on a background thread for the block; yields its base URL.

    The commands that serve this way (`everreach dev`, `everreach demo`) pass their settings'
    keep-alive; tests take the default."""
    port = port or free_port(host)
    server = uvicorn.Server(_config(app, host, port, access_log=False, keep_alive_s=keep_alive_s))
    thread = threading.Thread(target=server.run, name="everreach-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API did not start; see the log above for the reason")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def spawn_api(
    args: list[str], env: dict[str, str], port: int, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `python <args>` (an API on `port`) and return once its /healthz answers.

    For benchmarks and reliability scenarios, which need the API in a process of its own (to load
    it from outside, or to kill it).
    """
    process = subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
    except BaseException:
        process.kill()
        raise
    return process


@contextmanager
def api_subprocess(
    args: list[str], env: dict[str, str], port: int, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`spawn_api` for the length of the block."""
    process = spawn_api(args, env, port, cwd)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


def wait_until_healthy(
    base_url: str, process: subprocess.Popen[bytes], timeout_s: float = 60
) -> None:
    """Block until `base_url/healthz` answers 200; fail with the process's stderr if it died."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            stderr = process.stderr.read().decode()[-2000:] if process.stderr else ""
            raise RuntimeError(f"the API at {base_url} did not start: {stderr}")
        time.sleep(0.1)
