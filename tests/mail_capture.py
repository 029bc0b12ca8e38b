"""Real mail receivers for tests: the file backend's folder, a local SMTP server (aiosmtpd) and a
local HTTP server standing in for Resend's API; plus reading a reset link out of a message."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from api.server import free_port

LINK = re.compile(r"(https?://[^\s\"<>]+/reset-password\?token=([0-9a-f]{64}))")


def wait_until(check: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    """Poll `check` until it returns something truthy (background jobs finish after a 202)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def reset_link(text: str) -> tuple[str, str]:
    """(link, token) from a message body."""
    found = LINK.search(text)
    assert found, "no reset link in the message"
    return found.group(1), found.group(2)


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, html) of a multipart/alternative message."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None, "the message needs a text and an HTML part"
    return text.get_content(), html.get_content()


def file_mails(home: Path, to: str) -> list[EmailMessage]:
    """Messages the file backend wrote under `home` for `to`, oldest first."""
    found = []
    for path in sorted((home / "mail").glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=default)
        if message["To"] == to:
            found.append(message)
    return found  # type: ignore[return-value]


@dataclass
class SmtpInbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in list(self.messages) if m["To"] == address]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[SmtpInbox]:
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""
    inbox = SmtpInbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class ResendStandIn:
    """What a local stand-in for Resend's `POST /emails` received; `status` is what it answers."""

    base_url: str = ""
    status: int = 200
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def emails_to(self, address: str) -> list[dict[str, Any]]:
        return [body for path, _, body in list(self.requests) if address in body.get("to", [])]


@contextmanager
def resend_stand_in(status: int = 200) -> Iterator[ResendStandIn]:
    """An HTTP server on 127.0.0.1 speaking the part of Resend's API we use."""
    record = ResendStandIn(status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            record.requests.append((self.path, dict(self.headers), body))
            answer = {"id": "stand-in"} if record.status < 400 else {"message": "refused"}
            payload = json.dumps(answer).encode()
            self.send_response(record.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    record.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
