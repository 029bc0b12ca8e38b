"""Stand-ins for PostHog and the webhook, and a forwarder on a background thread.

`Receiver` is a real HTTP server on 127.0.0.1 that records every request it gets (on arrival,
before answering) and answers as a script says: per request number, a status, headers, a delay
before answering (to make the client time out) or a gate to wait on (to hold a request while the
test kills the worker that sent it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from everreach.forwarding.worker import run_forwarder
from everreach.platform.settings import Settings

WAIT_S = 30.0


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"status": 1}'
    delay_s: float = 0.0
    gate: threading.Event | None = None


@dataclass(frozen=True)
class Received:
    number: int
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.monotonic() on arrival
    status: int  # what the receiver answered (or was about to)

    def json(self) -> Any:
        return json.loads(self.body)


Script = Callable[[int], Reply]


def always(reply: Reply) -> Script:
    return lambda _number: reply


def first_then(first: list[Reply], then: Reply | None = None) -> Script:
    """The replies in `first` for the first requests, `then` (a 200) for the rest."""
    rest = then or Reply()
    return lambda number: first[number] if number < len(first) else rest


class Receiver:
    def __init__(self, script: Script | None = None, port: int = 0) -> None:
        self.script: Script = script or always(Reply())
        self.received: list[Received] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._changed:
                    number = len(receiver.received)
                    reply = receiver.script(number)
                    receiver.received.append(
                        Received(
                            number,
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                            reply.status,
                        )
                    )
                    receiver._changed.notify_all()
                if reply.gate is not None:
                    reply.gate.wait(WAIT_S)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                with contextlib.suppress(OSError):  # the client may have given up already
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(
        self, condition: Callable[[list[Received]], bool], timeout: float = WAIT_S
    ) -> None:
        """Block until `condition(received)` holds; fail the test after `timeout`."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self.received), timeout):
                raise AssertionError(f"condition not met; received {len(self.received)} requests")

    def accepted(self) -> list[Received]:
        """Requests answered with a 2xx."""
        return [r for r in self.received if 200 <= r.status < 300]


def eventually(check: Callable[[], bool], timeout: float = WAIT_S, every: float = 0.05) -> None:
    """Poll `check` until it is true; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)


@contextlib.contextmanager
def running_forwarder(settings: Settings, database_url: str) -> Iterator[None]:
    """A standalone forwarder (as `everreach forwarder` runs it) on a thread for the block."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(run_forwarder(settings, database_url, stop))
        except BaseException as exc:
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="test-forwarder", daemon=True)
    thread.start()
    try:
        yield
    finally:
        with contextlib.suppress(RuntimeError):  # the loop is already closed if the run failed
            loop.call_soon_threadsafe(stop.set)
        thread.join(WAIT_S)
    assert not thread.is_alive(), "the forwarder did not stop"
    assert not failure, failure
