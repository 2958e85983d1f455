-- make bench: every request carries the session cookie (BENCH_COOKIE) and the
-- header our TLS-terminating proxy would add, so production settings serve it
-- without redirecting to HTTPS. Non-200 answers are counted as errors (wrk
-- itself counts only 4xx/5xx, and a 302 to the login page is a failure here).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  wrk.headers["X-Forwarded-Proto"] = "https"
  local cookie = os.getenv("BENCH_COOKIE")
  if cookie and cookie ~= "" then
    wrk.headers["Cookie"] = cookie
  end
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non200")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %.0f, "p95_us": %.0f, ' ..
    '"p99_us": %.0f, "non200": %d, "socket_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), bad, e.connect + e.read + e.write, e.timeout))
end
