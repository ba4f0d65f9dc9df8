"""The receiver's check in docs/webhooks.md works on a real delivery and refuses replays."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import time_machine
from pytest_httpserver import HTTPServer

from tests.factories import DepartmentFactory, walk_in
from tests.webhooks.helpers import subscribe
from webapp.database import utcnow

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_verify(secret: str) -> Any:
    [code] = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    code = code.replace('SECRET = b"whsec_…"', f"SECRET = {secret.encode()!r}")
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 (our own document)
    return namespace["verify"]


def test_the_documented_check_accepts_a_delivery_and_refuses_replays_and_tampering(
    app: Any, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    created = subscribe(httpserver.url_for("/hook"))
    with time_machine.travel(utcnow(), tick=False) as traveller:
        walk_in(DepartmentFactory())
        sent_at = utcnow().timestamp()
        traveller.shift(timedelta(seconds=1))
    [(request, _response)] = httpserver.log
    body, header = request.get_data(), request.headers["X-HQ-Signature"]
    verify = documented_verify(created.secret)

    assert verify(body, header, now=sent_at + 60)
    assert not verify(body, header, now=sent_at + 301)  # a replay after 5 minutes
    assert not verify(body.replace(b"checked_in", b"completed"), header, now=sent_at)
    assert not documented_verify("whsec_other")(body, header, now=sent_at)
    assert not verify(body, "v1=abc", now=sent_at)
