-- wrk script of `make bench` (bench/run.py): one fixed GET, with the headers bench/run.py
-- passes in the environment (BENCH_IF_NONE_MATCH, BENCH_COOKIE), counting the answers' status
-- codes so the report shows that an "unchanged" poll really was answered 304 / 204.
-- done() prints one JSON line: requests, duration, status counts, socket errors, latency (µs).

local if_none_match = os.getenv("BENCH_IF_NONE_MATCH")
local cookie = os.getenv("BENCH_COOKIE")
if if_none_match and if_none_match ~= "" then
  wrk.headers["If-None-Match"] = if_none_match
end
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
  wrk.headers["HX-Request"] = "true"
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    for status, count in pairs(counted) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(totals) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "statuses": {%s}, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes, table.concat(parts, ", "),
    errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
