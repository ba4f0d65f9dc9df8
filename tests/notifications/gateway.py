"""Helpers for tests against a fake SMS gateway (pytest-httpserver's ``httpserver``)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

# An Ofcom drama number: reserved for fiction, never anyone's phone.
PHONE = "+447700900123"


def sms_requests(server: HTTPServer, path: str = "/sms") -> list[Request]:
    """The requests the fake gateway received at ``path``, oldest first."""
    return [request for request, _response in server.log if request.path == path]


def unused_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def silent_gateway(server: HTTPServer, path: str = "/sms") -> Iterator[None]:
    """Make ``server`` hold requests to ``path`` unanswered until the block ends.

    No fixed sleep: the handler waits for an event the block's end sets (or 10 s,
    so a failing test cannot hang the session), then answers 200 to nobody.
    """
    release = threading.Event()
    held: list[Request] = []

    def hold(request: Request) -> Response:
        held.append(request)
        release.wait(10)
        return Response("too late", status=200)

    server.expect_request(path).respond_with_handler(hold)
    try:
        yield
    finally:
        release.set()
        # The server logs a request once its answer is written: wait for that here, or the
        # late entry lands in the next test's log (a condition, bounded; not a fixed sleep).
        settled = threading.Event()
        for _ in range(500):
            if len(sms_requests(server, path)) >= len(held) or settled.wait(0.01):
                break
