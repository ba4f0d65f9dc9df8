"""The mixed load of `make bench` (locust, headless, started by bench/run.py).

Who is simulated, each on its own pace whatever the answer time (``constant_pacing``):

* waiting-room displays polling ``/display/<CODE>/state.json`` with the ETag of their last
  answer in ``If-None-Match``;
* reception boards polling ``/queue/board-partial?department_id=N&version=V`` with a signed-in
  session, ``V`` being the ``data-version`` of the rows they last received (204: unchanged);
* clinicians working through the JSON API with bearer tokens: call next, start, complete, with
  a think time between moves;
* check-ins through the API at a fixed rate, of patients without an active ticket in the
  department, spread over departments by their number of rooms;
* patients' phones polling their ticket page's ``/t/<token>/status`` with ``If-None-Match``;
* integrations reading ``/api/v1/queue/current`` and ``/api/v1/queue/<id>``;
* ``/healthz``, the baseline, in the same run.

How many of each and how often come from the fixtures file bench/run.py writes (signed-in
sessions, tokens, the live queue); the path is in BENCH_FIXTURES. An answer is an error when its
status is not one the request may legitimately get (a 409 for a move the simulated clinician
believed legal is an error: the state it tracks went wrong, or the server did).
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
from typing import Any
from urllib.parse import urlencode

from locust import FastHttpUser, between, constant_pacing, events, task

FIXTURES: dict[str, Any] = json.loads(open(os.environ["BENCH_FIXTURES"]).read())  # noqa: SIM115
COUNTS: dict[str, int] = FIXTURES["counts"]
PACE: dict[str, float] = FIXTURES["pace"]
VERSION_PATTERN = re.compile(r'data-version="([^"]*)"')

# Handed out in turn as users start.
_displays = itertools.cycle(FIXTURES["display_codes"])
_boards = itertools.cycle(FIXTURES["boards"])
_clinicians = iter(FIXTURES["clinicians"])
_tickets = itertools.cycle(FIXTURES["ticket_tokens"])
_departments = itertools.cycle(FIXTURES["department_ids"])
# (patient, department) pairs that hold an active ticket: never checked in twice.
_active_pairs = {tuple(pair) for pair in FIXTURES["active_pairs"]}
_rng = random.Random(FIXTURES.get("seed", 1))  # noqa: S311 (picks test data)


def _check(response: Any, expected: tuple[int, ...]) -> None:
    if response.status_code not in expected:
        response.failure(
            f"HTTP {response.status_code}: {response.text[:200] if response.text else ''}"
        )
    else:
        response.success()


class Display(FastHttpUser):
    fixed_count = COUNTS["displays"]
    wait_time = constant_pacing(PACE["display"])

    def on_start(self) -> None:
        self.code = next(_displays)
        self.etag: str | None = None

    @task
    def poll(self) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        with self.client.get(
            f"/display/{self.code}/state.json", headers=headers, catch_response=True
        ) as response:
            if response.status_code == 304:
                response.request_meta["name"] = "display poll, unchanged (304)"
            else:
                response.request_meta["name"] = "display poll, changed (200)"
            _check(response, (200, 304))
            self.etag = (response.headers or {}).get("ETag") or self.etag


class Board(FastHttpUser):
    fixed_count = COUNTS["boards"]
    wait_time = constant_pacing(PACE["board"])

    def on_start(self) -> None:
        board = next(_boards)
        self.department_id = board["department_id"]
        self.cookie = board["cookie"]
        self.version = ""
        # The session cookie is sent as signed in; the answers' refreshed copies are not kept.
        self.client.client.cookiejar = None

    @task
    def poll(self) -> None:
        with self.client.get(
            "/queue/board-partial?"
            + urlencode({"department_id": self.department_id, "version": self.version}),
            headers={"Cookie": self.cookie, "HX-Request": "true"},
            catch_response=True,
        ) as response:
            if response.status_code == 204:
                response.request_meta["name"] = "board poll, unchanged (204)"
            else:
                response.request_meta["name"] = "board poll, changed (200)"
                found = VERSION_PATTERN.search(response.text or "")
                if found:
                    self.version = html.unescape(found.group(1))
                elif response.status_code == 200:
                    response.failure("200 without a data-version")
                    return
            _check(response, (200, 204))


class Clinician(FastHttpUser):
    """One clinician at one room: call next, start, complete, with a think time between."""

    fixed_count = COUNTS["clinicians"]
    wait_time = between(PACE["clinician_min"], PACE["clinician_max"])

    def on_start(self) -> None:
        seat = next(_clinicians)
        self.headers = {"Authorization": f"Bearer {seat['token']}"}
        self.point = seat["service_point_id"]
        self.ticket = seat.get("ticket_id")
        self.status = seat.get("status")

    @task
    def next_move(self) -> None:
        if self.ticket is None:
            with self.client.post(
                "/api/v1/queue/call-next",
                json={"service_point_id": self.point},
                headers=self.headers,
                name="API call-next",
                catch_response=True,
            ) as response:
                _check(response, (200, 204))
                if response.status_code == 200:
                    self.ticket, self.status = response.json()["id"], "called"
                elif response.status_code == 204:
                    response.request_meta["name"] = "API call-next, none waiting (204)"
            return
        if self.status == "called":
            body, name, after = (
                {"status": "in_service", "service_point_id": self.point},
                "API start",
                "in_service",
            )
        else:
            body, name, after = {"status": "completed"}, "API complete", None
        with self.client.patch(
            f"/api/v1/queue/{self.ticket}/status",
            json=body,
            headers=self.headers,
            name=name,
            catch_response=True,
        ) as response:
            _check(response, (200,))
            if response.status_code == 200:
                self.status = after
                if after is None:
                    self.ticket = None
            elif response.status_code in (404, 409):
                # Lost track (someone else moved it): start again from a free room.
                self.ticket, self.status = None, None


class CheckIn(FastHttpUser):
    """Walk-ins checked in through the API at a fixed total rate."""

    fixed_count = COUNTS["checkin_users"]
    wait_time = constant_pacing(PACE["checkin"])

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {FIXTURES['front_desk_token']}"}

    @task
    def check_in(self) -> None:
        departments = FIXTURES["checkin_departments"]  # repeated by room count
        for _ in range(100):
            pair = (_rng.choice(FIXTURES["patient_ids"]), _rng.choice(departments))
            if pair not in _active_pairs:
                break
        _active_pairs.add(pair)
        with self.client.post(
            "/api/v1/queue/check-in",
            json={"patient_id": pair[0], "department_id": pair[1]},
            headers=self.headers,
            name="API check-in",
            catch_response=True,
        ) as response:
            _check(response, (201,))


class TicketPage(FastHttpUser):
    fixed_count = COUNTS["ticket_pages"]
    wait_time = constant_pacing(PACE["ticket"])

    def on_start(self) -> None:
        self.token = next(_tickets)
        self.etag: str | None = None

    @task
    def poll(self) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        with self.client.get(
            f"/t/{self.token}/status", headers=headers, catch_response=True
        ) as response:
            if response.status_code == 304:
                response.request_meta["name"] = "ticket poll, unchanged (304)"
            else:
                response.request_meta["name"] = "ticket poll, changed (200)"
            _check(response, (200, 304))
            self.etag = (response.headers or {}).get("ETag") or self.etag


class ApiReader(FastHttpUser):
    """An integration reading the queue."""

    fixed_count = COUNTS["api_readers"]
    wait_time = constant_pacing(PACE["api_reader"])

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {FIXTURES['reader_token']}"}
        self.department_id = next(_departments)
        self.last_ticket: int | None = None

    @task
    def read(self) -> None:
        if self.last_ticket is None or _rng.random() < 0.5:
            with self.client.get(
                f"/api/v1/queue/current?department_id={self.department_id}",
                headers=self.headers,
                name="API queue/current",
                catch_response=True,
            ) as response:
                _check(response, (200,))
                if response.status_code == 200:
                    waiting = response.json().get("waiting") or []
                    if waiting:
                        self.last_ticket = _rng.choice(waiting)["id"]
            return
        with self.client.get(
            f"/api/v1/queue/{self.last_ticket}",
            headers=self.headers,
            name="API ticket",
            catch_response=True,
        ) as response:
            _check(response, (200,))


class Health(FastHttpUser):
    fixed_count = COUNTS["healthz"]
    wait_time = constant_pacing(PACE["healthz"])

    @task
    def healthz(self) -> None:
        with self.client.get(
            "/healthz", name="healthz (baseline)", catch_response=True
        ) as response:
            _check(response, (200,))


@events.quitting.add_listener
def _keep_exit_code(environment: Any, **_kwargs: Any) -> None:
    # Failures are reported by bench/run.py from the statistics; locust's own exit status
    # would only repeat them.
    environment.process_exit_code = 0
