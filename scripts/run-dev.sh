#!/usr/bin/env bash
# Development runner used by `make run`: starts the web server and the task worker together.
# Ctrl-C (or TERM) stops both; if either one exits on its own, the other is stopped too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FLASK="${FLASK:-.venv/bin/flask}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-5000}"
export APP_ENV="${APP_ENV:-development}"
export FLASK_DEBUG="${FLASK_DEBUG:-0}"

pids=()

stop_children() {
    trap - INT TERM EXIT
    local pid alive
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    # Give them up to 10 s to finish (the worker lets running tasks complete), then force.
    for _ in $(seq 50); do
        alive=0
        for pid in "${pids[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then alive=1; fi
        done
        [[ $alive -eq 0 ]] && break
        sleep 0.2
    done
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}

trap 'echo; echo "Interrupted: stopping the web server and the worker." >&2; stop_children; exit 130' INT
trap 'stop_children; exit 143' TERM
trap 'stop_children' EXIT

# The demo accounts' logins on every start, from the seed's own list (`flask demo-logins` prints
# only the fixed demo accounts, and only while they still have their demo passwords).
if [[ $APP_ENV == development ]]; then
    "$FLASK" --app wsgi demo-logins || echo "(could not list the demo logins; see above)" >&2
fi

echo "Web server: http://${HOST}:${PORT}  (APP_ENV=${APP_ENV})  — Ctrl-C stops it and the worker"
"$FLASK" --app wsgi run --host "$HOST" --port "$PORT" &
pids+=("$!")
"$FLASK" --app wsgi worker &
pids+=("$!")

# Returns when the first child exits (or a trapped signal interrupts the wait).
status=0
wait -n "${pids[@]}" || status=$?
echo "Stopping the web server and the worker (one of them exited with status ${status})." >&2
exit "$status"
