# ruff: noqa: S311, S603, S607
# (random shuffles test data; subprocess runs gunicorn, flask, wrk, locust and git by design.)
"""`make bench`: the app under gunicorn + the Huey consumer on PostgreSQL and Redis, measured.

1. Loads (or finds already loaded) a hospital with a million historical tickets and gives it
   a live day (bench/load_data.py).
2. Starts gunicorn (``wsgi:app``) and ``flask --app wsgi worker`` with APP_ENV=production,
   on a free loopback port, with their own control socket and a flushed Redis database.
3. Signs the staff in: reception boards through the HTML form (session cookies), clinicians,
   a front desk and an integration through ``/api/v1/auth/login`` (bearer tokens).
4. Throughput phase (wrk): the most requests per second, and their latency, at each number of
   connections, for ``/healthz`` and each kind of poll, unchanged and changed.
5. Mixed phase (locust, headless): displays, boards, clinicians, check-ins, patients' phones,
   integrations and ``/healthz``, all at once at their own pace.
6. Writes bench/results/<time>.json and .md (and latest.json / latest.md), and prints the
   Markdown.

Every setting has a command-line option; the server's also an environment variable
(BENCH_WORKERS, BENCH_WORKER_CLASS, BENCH_THREADS). `python bench/run.py --help` lists them.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_data

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent

# The kinds of request the throughput phase measures: (key, label, what it takes).
WRK_TESTS = {
    "healthz": "GET /healthz (baseline)",
    "display-304": "display poll, unchanged (If-None-Match matches → 304)",
    "display-200": "display poll, changed (no If-None-Match → 200)",
    "board-204": "board poll, unchanged (version matches → 204)",
    "board-200": "board poll, changed (no version → 200)",
    "ticket-304": "ticket poll, unchanged (If-None-Match matches → 304)",
    "ticket-200": "ticket poll, changed (no If-None-Match → 200)",
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------ arguments


def parse_args() -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(
        description="Load a hospital into PostgreSQL and measure the app under load.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        default=env.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hq_bench"),
        help="PostgreSQL database the bench owns (created if missing; its data is replaced)",
    )
    parser.add_argument(
        "--redis-url",
        default=env.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        help="Redis database the bench owns (flushed at the start)",
    )
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    group = parser.add_argument_group("server")
    group.add_argument("--workers", type=int, default=int(env.get("BENCH_WORKERS", "4")))
    # gthread, as docs/deployment.md recommends (BENCH_WORKER_CLASS=sync to compare).
    group.add_argument(
        "--worker-class", default=env.get("BENCH_WORKER_CLASS", "gthread"), help="gunicorn -k"
    )
    group.add_argument(
        "--threads",
        type=int,
        default=int(env.get("BENCH_THREADS", "4")),
        help="threads per worker (gthread)",
    )
    group.add_argument(
        "--keep-alive",
        type=int,
        default=int(env.get("BENCH_KEEP_ALIVE", "5")),
        help="gunicorn --keep-alive seconds (sync workers always close)",
    )
    group.add_argument("--huey-threads", type=int, default=2, help="flask worker --workers")
    group = parser.add_argument_group("phases")
    group.add_argument(
        "--phases", default="wrk,mixed", help="which phases to run, in order: wrk, mixed"
    )
    group.add_argument("--duration", type=int, default=180, help="mixed phase, seconds")
    group.add_argument("--wrk-duration", type=int, default=10, help="each wrk test, seconds")
    group.add_argument("--wrk-connections", default="20,200", help="connection counts")
    group.add_argument("--wrk-threads", type=int, default=2)
    group.add_argument("--wrk-tests", default=",".join(WRK_TESTS), help="which wrk tests")
    group = parser.add_argument_group("mixed load")
    group.add_argument("--displays", type=int, default=400)
    group.add_argument("--display-every", type=float, default=2.0, help="seconds")
    group.add_argument("--boards", type=int, default=60)
    group.add_argument("--board-every", type=float, default=3.0)
    group.add_argument("--think", default="8,12", help="clinician think time min,max seconds")
    group.add_argument("--checkins-per-second", type=float, default=2.0)
    group.add_argument("--ticket-pages", type=int, default=300)
    group.add_argument("--ticket-every", type=float, default=5.0)
    group.add_argument("--api-readers", type=int, default=10)
    group.add_argument("--api-every", type=float, default=2.0)
    group.add_argument("--healthz-users", type=int, default=5, help="each polls once a second")
    group.add_argument("--spawn-rate", type=float, default=100.0, help="users started per second")
    group = parser.add_argument_group("data (bench/load_data.py)")
    load_data.add_arguments(group)
    parser.add_argument(
        "--out", default=str(BENCH / "results"), help="where the JSON and Markdown go"
    )
    parser.add_argument("--label", default="", help="a note kept with the results")
    return parser.parse_args()


# ------------------------------------------------------------------ services


def ensure_database(url: str) -> None:
    """Create the bench database when it does not exist (the role needs CREATEDB)."""
    plain = load_data.psycopg_url(url)
    try:
        psycopg.connect(plain).close()
        return
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            raise
    name = plain.rsplit("/", 1)[1].split("?")[0]
    admin = plain.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"created database {name}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Servers:
    """gunicorn and the Huey consumer, in their own process groups, stopped by their ids."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.port = args.port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.env = dict(os.environ)
        self.env.update(
            APP_ENV="production",
            SECRET_KEY=secrets.token_hex(32),
            DATABASE_URL=load_data.sqlalchemy_url(args.database_url),
            REDIS_URL=args.redis_url,
            PUBLIC_BASE_URL=self.base,
            HOSPITAL_TIMEZONE="UTC",
            # Plain HTTP on loopback: the session cookie must travel without TLS.
            SESSION_COOKIE_SECURE="false",
            # Every simulated member of staff signs in from 127.0.0.1 within a few seconds.
            LOGIN_LIMIT_PER_ADDRESS="100000 per minute",
            # Tokens and sessions outlive the longest run.
            ACCESS_TOKEN_MINUTES="240",  # noqa: S106 (a duration, not a password)
            SESSION_IDLE_MINUTES="240",
            SMS_PROVIDER="console",
            WORKER_THREADS=str(args.huey_threads),
        )
        self.env.pop("FLASK_DEBUG", None)

    def start(self) -> None:
        args = self.args
        gunicorn = [
            str(VENV_BIN / "gunicorn"),
            "wsgi:app",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--keep-alive",
            str(args.keep_alive),
            "--backlog",
            "2048",
            # Its own control socket: the default path is shared by every gunicorn on the
            # machine (STACK.md), and a second instance would take it over.
            "--control-socket",
            str(self.workdir / "gunicorn.ctl"),
            "--error-logfile",
            str(self.workdir / "gunicorn.log"),
            "--log-level",
            "warning",
        ]
        if args.worker_class == "gthread":
            gunicorn += ["--threads", str(args.threads)]
        self._spawn(gunicorn, "gunicorn.out")
        worker = [str(VENV_BIN / "flask"), "--app", "wsgi", "worker"]
        self._spawn(worker, "worker.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise SystemExit(
                        f"{process.args[0]} exited with {process.returncode}; see {self.workdir}"
                    )
            try:
                if requests.get(self.base + "/readyz", timeout=2).status_code == 200:
                    log(f"app ready at {self.base}")
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SystemExit(f"the app did not become ready in 60 s; see {self.workdir}")

    def _spawn(self, command: list[str], logfile: str) -> None:
        with open(self.workdir / logfile, "ab") as out:
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def server_errors(self) -> list[str]:
        """Lines of the server logs that report an error (tracebacks, 5xx, worker timeouts)."""
        found = []
        for name in ("gunicorn.log", "gunicorn.out", "worker.log"):
            path = self.workdir / name
            if not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                if re.search(r"Traceback|\bERROR\b|CRITICAL|WORKER TIMEOUT|Exception", line):
                    found.append(f"{name}: {line.strip()[:300]}")
        return found


# ------------------------------------------------------------------ sign-in and fixtures


def html_sign_in(base: str, username: str, password: str) -> str:
    """Sign in through the form; returns the Cookie header of the signed-in session."""
    with requests.Session() as session:
        page = session.get(f"{base}/login", timeout=30)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        if token is None:
            raise SystemExit("no csrf_token on /login")
        answer = session.post(
            f"{base}/login",
            data={"username": username, "password": password, "csrf_token": token.group(1)},
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code not in (302, 303):
            raise SystemExit(f"sign-in of {username} answered {answer.status_code}")
        return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def api_sign_in(base: str, username: str, password: str) -> str:
    answer = requests.post(
        f"{base}/api/v1/auth/login",
        json={"username": username, "password": password},
        timeout=30,
    )
    if answer.status_code != 200:
        raise SystemExit(f"API sign-in of {username} answered {answer.status_code}: {answer.text}")
    return str(answer.json()["access_token"])


def build_fixtures(args: argparse.Namespace, base: str) -> dict[str, Any]:
    """Who the simulated staff and screens are, signed in; read from the live day."""
    password = args.password
    with psycopg.connect(load_data.psycopg_url(args.database_url)) as conn:
        departments = conn.execute("SELECT id, code FROM departments ORDER BY id").fetchall()
        points = conn.execute(
            "SELECT sp.id, sp.department_id, u.username FROM service_points sp "
            "JOIN users u ON u.id = sp.clinician_id ORDER BY sp.id"
        ).fetchall()
        serving = {
            point: (ticket, status)
            for ticket, point, status in conn.execute(
                "SELECT id, service_point_id, status FROM tickets "
                "WHERE status IN ('called', 'in_service')"
            )
        }
        receptionists = [
            name
            for (name,) in conn.execute(
                "SELECT username FROM users WHERE role = 'receptionist' ORDER BY username"
            )
        ]
        admin = conn.execute(
            "SELECT username FROM users WHERE role = 'admin' ORDER BY username LIMIT 1"
        ).fetchone()[0]
        tokens = [
            token
            for (token,) in conn.execute(
                "SELECT status_token FROM tickets WHERE status IN ('waiting', 'called', "
                "'in_service') ORDER BY id"
            )
        ]
        active_pairs = conn.execute(
            "SELECT patient_id, department_id FROM tickets WHERE status IN ('waiting', 'called', "
            "'in_service')"
        ).fetchall()
        patients = [pid for (pid,) in conn.execute("SELECT id FROM patients ORDER BY id")]
    if not receptionists or not points:
        raise SystemExit("the bench database has no receptionists or staffed rooms")
    rng = random.Random(args.seed)
    rng.shuffle(tokens)
    department_ids = [d for d, _ in departments]
    seats = points  # every staffed room's clinician works
    boards = [
        (receptionists[n % len(receptionists)], department_ids[n % len(department_ids)])
        for n in range(args.boards)
    ]
    # Each account signs in once (the per-username limit is 5 a minute).
    board_users = sorted({name for name, _ in boards})
    log(
        f"signing in {len(board_users)} receptionists (HTML) and {len(seats) + 2} API users "
        "(bcrypt at the app's cost: this takes a while on 2 cores)"
    )
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        cookies = dict(
            zip(
                board_users,
                pool.map(lambda name: html_sign_in(base, name, password), board_users),
                strict=True,
            )
        )
        api_users = [name for _, _, name in seats] + [receptionists[0], admin]
        api_tokens = dict(
            zip(
                api_users,
                pool.map(lambda n: api_sign_in(base, n, password), api_users),
                strict=True,
            )
        )
    clinicians = []
    for point, _department, username in seats:
        ticket = serving.get(point)
        clinicians.append(
            {
                "token": api_tokens[username],
                "service_point_id": point,
                "ticket_id": ticket[0] if ticket else None,
                "status": ticket[1] if ticket else None,
            }
        )
    rooms_by_department: dict[int, int] = {}
    for _point, department, _name in points:
        rooms_by_department[department] = rooms_by_department.get(department, 0) + 1
    think_min, think_max = (float(x) for x in args.think.split(","))
    checkin_users = max(1, round(args.checkins_per_second * 2))
    return {
        "seed": args.seed,
        "display_codes": [code for _, code in departments],
        "department_ids": department_ids,
        "boards": [
            {"cookie": cookies[name], "department_id": department} for name, department in boards
        ],
        "clinicians": clinicians,
        "front_desk_token": api_tokens[receptionists[0]],
        "reader_token": api_tokens[admin],
        "ticket_tokens": tokens[: max(1, args.ticket_pages)],
        "active_pairs": [list(pair) for pair in active_pairs],
        "patient_ids": patients,
        "checkin_departments": [
            department for department, rooms in rooms_by_department.items() for _ in range(rooms)
        ],
        "counts": {
            "displays": args.displays,
            "boards": args.boards,
            "clinicians": len(clinicians),
            "checkin_users": checkin_users if args.checkins_per_second > 0 else 0,
            "ticket_pages": args.ticket_pages if tokens else 0,
            "api_readers": args.api_readers,
            "healthz": args.healthz_users,
        },
        "pace": {
            "display": args.display_every,
            "board": args.board_every,
            "clinician_min": think_min,
            "clinician_max": think_max,
            "checkin": checkin_users / args.checkins_per_second if args.checkins_per_second else 1,
            "ticket": args.ticket_every,
            "api_reader": args.api_every,
            "healthz": 1.0,
        },
    }


# ------------------------------------------------------------------ throughput phase (wrk)


def wrk_targets(base: str, fixtures: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The URL and headers of each wrk test, read fresh from the app (ETags, versions)."""
    code = fixtures["display_codes"][0]
    department = fixtures["department_ids"][0]
    board_cookie = next(b["cookie"] for b in fixtures["boards"] if b["department_id"] == department)
    token = fixtures["ticket_tokens"][0]
    display = requests.get(f"{base}/display/{code}/state.json", timeout=30)
    ticket = requests.get(f"{base}/t/{token}/status", timeout=30)
    board = requests.get(
        f"{base}/queue/board-partial",
        params={"department_id": department, "version": ""},
        headers={"Cookie": board_cookie, "HX-Request": "true"},
        timeout=30,
    )
    found = re.search(r'data-version="([^"]*)"', board.text)
    if display.status_code != 200 or ticket.status_code != 200 or not found:
        raise SystemExit(
            f"could not read the polls' versions: display {display.status_code}, "
            f"ticket {ticket.status_code}, board {board.status_code}"
        )
    import html as html_module

    version = html_module.unescape(found.group(1))
    board_url = f"{base}/queue/board-partial?" + requests.compat.urlencode(
        {"department_id": department, "version": version}
    )
    return {
        "healthz": {"url": f"{base}/healthz"},
        "display-304": {
            "url": f"{base}/display/{code}/state.json",
            "BENCH_IF_NONE_MATCH": display.headers.get("ETag", ""),
        },
        "display-200": {"url": f"{base}/display/{code}/state.json"},
        "board-204": {"url": board_url, "BENCH_COOKIE": board_cookie},
        "board-200": {
            "url": f"{base}/queue/board-partial?department_id={department}&version=",
            "BENCH_COOKIE": board_cookie,
        },
        "ticket-304": {
            "url": f"{base}/t/{token}/status",
            "BENCH_IF_NONE_MATCH": ticket.headers.get("ETag", ""),
        },
        "ticket-200": {"url": f"{base}/t/{token}/status"},
    }


def run_wrk(target: dict[str, str], connections: int, threads: int, seconds: int) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("BENCH_IF_NONE_MATCH", None)
    env.pop("BENCH_COOKIE", None)
    env.update({k: v for k, v in target.items() if k.startswith("BENCH_")})
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "wrk" / "poll.lua"),
        target["url"],
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result: {done.stdout}\n{done.stderr}")
    raw = json.loads(line[len("BENCH_RESULT ") :])
    seconds_run = raw["duration_us"] / 1e6
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    socket_errors = sum(raw["socket_errors"].values())
    return {
        "connections": connections,
        "requests": raw["requests"],
        "seconds": round(seconds_run, 2),
        "rps": round(raw["requests"] / seconds_run, 1),
        "p50_ms": raw["latency_us"]["p50"] / 1000,
        "p95_ms": raw["latency_us"]["p95"] / 1000,
        "p99_ms": raw["latency_us"]["p99"] / 1000,
        "max_ms": raw["latency_us"]["max"] / 1000,
        "statuses": statuses,
        "socket_errors": raw["socket_errors"],
        # A 5xx, a 4xx, or a socket error; statuses other than the expected one are shown apart.
        "errors": sum(v for k, v in statuses.items() if k >= 400) + socket_errors,
    }


EXPECTED_STATUS = {
    "healthz": 200,
    "display-304": 304,
    "display-200": 200,
    "board-204": 204,
    "board-200": 200,
    "ticket-304": 304,
    "ticket-200": 200,
}


def throughput_phase(
    args: argparse.Namespace, base: str, fixtures: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each test at each connection count, between two `/healthz` runs: the baseline is their
    mean, so a machine that got busier or quieter meanwhile shows as a gap between the two."""
    tests = [t.strip() for t in args.wrk_tests.split(",") if t.strip() and t.strip() != "healthz"]
    unknown = set(tests) - set(WRK_TESTS)
    if unknown:
        raise SystemExit(f"unknown wrk tests: {', '.join(sorted(unknown))}")
    results = []
    for connections in (int(c) for c in args.wrk_connections.split(",")):
        targets = wrk_targets(base, fixtures)
        before = measure(args, targets, "healthz", connections)
        level = [measure(args, targets, test, connections) for test in tests]
        after = measure(args, targets, "healthz", connections)
        baseline = (before["rps"] + after["rps"]) / 2
        healthz = dict(before)
        for key in ("requests", "seconds", "rps"):
            healthz[key] = round((before[key] + after[key]) / 2, 1)
        for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
            healthz[key] = max(before[key], after[key])
        healthz["statuses"] = {
            k: before["statuses"].get(k, 0) + after["statuses"].get(k, 0)
            for k in set(before["statuses"]) | set(after["statuses"])
        }
        healthz["errors"] = before["errors"] + after["errors"]
        healthz["unexpected"] = before["unexpected"] + after["unexpected"]
        healthz["rps_before"], healthz["rps_after"] = before["rps"], after["rps"]
        for result in [healthz, *level]:
            result["ratio_to_healthz"] = round(result["rps"] / baseline, 3) if baseline else None
            results.append(result)
        log(
            f"c={connections}: ratios to /healthz "
            + ", ".join(f"{r['test']} {r['ratio_to_healthz']}" for r in level)
        )
    return results


def measure(
    args: argparse.Namespace, targets: dict[str, dict[str, str]], test: str, connections: int
) -> dict[str, Any]:
    # A short warm-up, so every worker has its connections open and its caches filled.
    run_wrk(targets[test], connections, args.wrk_threads, 2)
    result = run_wrk(targets[test], connections, args.wrk_threads, args.wrk_duration)
    result["test"] = test
    result["label"] = WRK_TESTS[test]
    result["expected_status"] = EXPECTED_STATUS[test]
    result["unexpected"] = sum(
        v for k, v in result["statuses"].items() if k != EXPECTED_STATUS[test]
    )
    log(
        f"wrk {test:<12} c={connections:<4} {result['rps']:>8.1f} req/s  "
        f"p50 {result['p50_ms']:.1f} ms  p99 {result['p99_ms']:.1f} ms  "
        f"statuses {result['statuses']}"
    )
    time.sleep(1)
    return result


# ------------------------------------------------------------------ mixed phase (locust)


def _number(row: dict[str, str], key: str) -> float | None:
    value = row.get(key, "")
    return None if value in ("", "N/A") else float(value)


def mixed_phase(
    args: argparse.Namespace, base: str, fixtures: dict[str, Any], workdir: Path
) -> dict[str, Any]:
    fixtures_path = workdir / "fixtures.json"
    fixtures_path.write_text(json.dumps(fixtures))
    users = sum(fixtures["counts"].values())
    spawn_seconds = users / args.spawn_rate
    run_time = int(args.duration + spawn_seconds + 2)
    env = dict(os.environ, BENCH_FIXTURES=str(fixtures_path))
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(BENCH / "locustfile.py"),
        "--headless",
        "--host",
        base,
        "--users",
        str(users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{run_time}s",
        # Count only once every user runs: the ramp is not part of the measurement.
        "--reset-stats",
        "--csv",
        str(workdir / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "10",
    ]
    log(
        f"locust: {users} users ({fixtures['counts']}) for {args.duration} s "
        f"after a {spawn_seconds:.0f} s ramp"
    )
    with open(workdir / "locust.log", "w") as out:
        subprocess.run(
            command, cwd=BENCH, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    rows = []
    with open(workdir / "locust_stats.csv") as stats:
        for row in csv.DictReader(stats):
            if row["Name"] == "Aggregated":
                continue

            rows.append(
                {
                    "name": row["Name"],
                    "method": row["Type"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": round(float(row["Requests/s"]), 2),
                    "p50_ms": _number(row, "50%"),
                    "p95_ms": _number(row, "95%"),
                    "p99_ms": _number(row, "99%"),
                    "max_ms": _number(row, "Max Response Time"),
                }
            )
    failures = []
    failures_path = workdir / "locust_failures.csv"
    if failures_path.exists():
        with open(failures_path) as found:
            failures = [
                {"name": r["Name"], "error": r["Error"][:300], "count": int(r["Occurrences"])}
                for r in csv.DictReader(found)
            ]
    order = [
        "healthz",
        "display",
        "board",
        "ticket",
        "API check-in",
        "API call-next",
        "API start",
        "API complete",
        "API queue",
        "API ticket",
    ]
    rows.sort(
        key=lambda r: (
            next((i for i, p in enumerate(order) if r["name"].startswith(p)), 99),
            r["name"],
        )
    )
    return {
        "users": fixtures["counts"],
        "duration_s": args.duration,
        "requests": rows,
        "failures": failures,
    }


# ------------------------------------------------------------------ report


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version()}


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "webapp", "templates"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() + (
        " (+ uncommitted changes in webapp/)" if dirty.stdout.strip() else ""
    )


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    server = meta["server"]
    data = meta["dataset"]
    counts = data.get("counts", {})
    history = (
        f"loaded in {data['load_seconds']} s"
        if data.get("loaded_now")
        else "already loaded (kept from an earlier run)"
    )
    lines = [
        f"# Bench results — {meta['started_at']}",
        "",
        f"- Commit {meta['commit']}; {meta['machine']['cpus']} CPUs ({meta['machine']['cpu']}), "
        f"Python {meta['machine']['python']}; everything on one machine, loopback.",
        f"- Server: gunicorn, {server['workers']} × {server['worker_class']}"
        + (f" × {server['threads']} threads" if server["worker_class"] == "gthread" else "")
        + f", keep-alive {server['keep_alive']} s; Huey consumer with {server['huey_threads']} "
        "threads; PostgreSQL and Redis on the same machine.",
        f"- Data: {counts.get('tickets', 0):,} historical tickets, "
        f"{counts.get('queue_events', 0):,} queue events, {counts.get('appointments', 0):,} "
        f"appointments over {data['params']['years']} years; {data['params']['departments']} "
        f"departments, {data['params']['service_points']} rooms, {data['params']['patients']:,} "
        f"patients. Live day: {data.get('live_day')}.",
        f"- History {history}; whole run {meta['total_seconds']:.0f} s.",
    ]
    if meta.get("label"):
        lines.append(f"- Note: {meta['label']}")
    if meta["load_average_before"] > 1:
        lines.append(
            f"- Warning: the load average was {meta['load_average_before']} before the run: "
            "other processes were using the CPUs, so these figures are low."
        )
    if report.get("throughput"):
        lines += [
            "",
            "## Throughput (wrk, one kind of request at a time)",
            "",
            f"Each line: {meta['wrk_duration']} s of wrk at that many connections "
            "(after a 2 s warm-up); ratio = its req/s ÷ `/healthz` req/s at the same "
            "connections in this run (measured before and after the other lines; their mean).",
            "",
            "| request | conns | req/s | ratio to /healthz | p50 ms | p95 ms | p99 ms "
            "| statuses | errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        for r in report["throughput"]:
            statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(r["statuses"].items()))
            label = r["label"]
            if "rps_before" in r:
                label += f" — mean of {fmt(r['rps_before'])} before and {fmt(r['rps_after'])} after"
            lines.append(
                f"| {label} | {r['connections']} | {fmt(r['rps'])} | "
                f"{r['ratio_to_healthz']:.2f} | {fmt(r['p50_ms'], 1)} | {fmt(r['p95_ms'], 1)} | "
                f"{fmt(r['p99_ms'], 1)} | {statuses} | {r['errors']} |"
            )
    mixed = report.get("mixed")
    if mixed:
        users = mixed["users"]
        lines += [
            "",
            "## Mixed load (locust, everything at once)",
            "",
            f"{mixed['duration_s']} s after the ramp: {users['displays']} displays every "
            f"{meta['pace']['display']} s, {users['boards']} reception boards every "
            f"{meta['pace']['board']} s, {users['clinicians']} clinicians (think "
            f"{meta['pace']['clinician_min']:g}–{meta['pace']['clinician_max']:g} s), check-ins at "
            f"{meta['checkins_per_second']:g}/s, {users['ticket_pages']} ticket pages every "
            f"{meta['pace']['ticket']} s, {users['api_readers']} API readers every "
            f"{meta['pace']['api_reader']} s, {users['healthz']} `/healthz` pollers every second.",
            "",
            "| request | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in mixed["requests"]:
            lines.append(
                f"| {r['name']} | {r['requests']:,} | {r['rps']:.1f} | {fmt(r['p50_ms'])} | "
                f"{fmt(r['p95_ms'])} | {fmt(r['p99_ms'])} | {fmt(r['max_ms'])} | {r['failures']} |"
            )
        if mixed["failures"]:
            lines += ["", "Errors:", ""]
            lines += [f"- {f['count']} × {f['name']}: {f['error']}" for f in mixed["failures"]]
    lines += ["", "## Server logs", ""]
    if report["server_errors"]:
        lines.append(f"{len(report['server_errors'])} error line(s); the first ones:")
        lines.append("")
        lines += [f"    {line}" for line in report["server_errors"][:15]]
    else:
        lines.append("No error in the gunicorn or worker logs.")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ main


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    started_at = datetime.now(UTC)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if "wrk" in phases and shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (make bench does it)")
    ensure_database(args.database_url)
    load_before = os.getloadavg()[0]
    dataset = load_data.load(
        args.database_url,
        load_data.params_from(args),
        force=args.force_load,
        live=load_data.live_from(args),
    )
    redis.Redis.from_url(args.redis_url).flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="hq-bench-run-"))
    servers = Servers(args, workdir)
    report: dict[str, Any] = {}
    try:
        servers.start()
        fixtures = build_fixtures(args, servers.base)
        if "wrk" in phases:
            report["throughput"] = throughput_phase(args, servers.base, fixtures)
        if "mixed" in phases:
            report["mixed"] = mixed_phase(args, servers.base, fixtures, workdir)
    finally:
        servers.stop()
    report["server_errors"] = servers.server_errors()
    report["meta"] = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        "server": {
            "workers": args.workers,
            "worker_class": args.worker_class,
            "threads": args.threads,
            "keep_alive": args.keep_alive,
            "huey_threads": args.huey_threads,
        },
        "dataset": dataset,
        "wrk_duration": args.wrk_duration,
        "pace": fixtures["pace"],
        "checkins_per_second": args.checkins_per_second,
        "label": args.label,
        # Over 1 before the run: something else was using the CPUs, and the figures are lower.
        "load_average_before": round(load_before, 2),
        "logs": str(workdir),
        "total_seconds": round(time.monotonic() - started, 1),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    text = markdown(report)
    for name in (stamp, "latest"):
        (out / f"{name}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        (out / f"{name}.md").write_text(text)
    print(text)
    log(f"results: {out / (stamp + '.md')} and .json; server logs in {workdir}")


if __name__ == "__main__":
    main()
