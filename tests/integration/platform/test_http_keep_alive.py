"""The API keeps an idle HTTP connection open as long as `EVERREACH_HTTP_KEEP_ALIVE_S` says.

uvicorn's own 5 s closed connections that clients (and the proxies in front of the API, which
keep theirs for 60 s) still held; the next request sent on one raced the close and failed with
"server disconnected without sending a response" (a reliability run hit it). These tests hold a
real connection idle on a real server and look at the socket.
"""

from __future__ import annotations

import http.client
import select
import time
from urllib.parse import urlsplit

import httpx


def idle_connection_open_after(client: httpx.Client, idle_s: float) -> bool:
    """Send one request on a fresh connection, wait `idle_s`, and say whether the server kept it."""
    address = urlsplit(str(client.base_url))
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        time.sleep(idle_s)
        readable, _, _ = select.select([connection.sock], [], [], 0)
        # A socket the server closed is readable and reads b"" (end of stream).
        return not (readable and connection.sock.recv(1) == b"")
    finally:
        connection.close()


def test_an_idle_connection_outlives_uvicorns_five_seconds_by_default(start_api):
    with start_api() as client:
        assert idle_connection_open_after(client, idle_s=6.0)


def test_the_server_closes_an_idle_connection_after_the_configured_keep_alive(start_api):
    with start_api(http_keep_alive_s=1.0) as client:
        assert idle_connection_open_after(client, idle_s=0.2)
        assert not idle_connection_open_after(client, idle_s=2.0)
