-- make bench: every request carries the header our TLS-terminating proxy would
-- add, so production settings serve it without redirecting to HTTPS, and a
-- session cookie:
--   BENCH_COOKIE    one user's Cookie header, on every request (single user);
--   BENCH_ROTATION  a file of "path<TAB>cookie" lines (bench/people.py): each
--                   request is the next line's path as the next line's user, each
--                   thread starting at its own offset (many users).
-- Non-200 answers are counted as errors (wrk itself counts only 4xx/5xx, and a
-- 302 to the login page is a failure here).
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("id", count)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  wrk.headers["X-Forwarded-Proto"] = "https"
  local cookie = os.getenv("BENCH_COOKIE")
  if cookie and cookie ~= "" then
    wrk.headers["Cookie"] = cookie
  end
  requests = {}
  local file = os.getenv("BENCH_ROTATION")
  if file and file ~= "" then
    for line in io.lines(file) do
      local path, user = line:match("^([^\t]+)\t(.*)$")
      if path then
        local headers = {}
        for name, value in pairs(wrk.headers) do
          headers[name] = value
        end
        headers["Cookie"] = user
        table.insert(requests, wrk.format("GET", path, headers))
      end
    end
  end
  -- The threads start half the rotation apart (make bench runs at most two).
  nxt = #requests > 0 and ((id - 1) * math.floor(#requests / 2 + 0.5)) % #requests or 0
end

-- Defined only for a rotation: without request() wrk sends one prepared request
-- again and again, as before rotations existed (so single-user figures compare).
if (os.getenv("BENCH_ROTATION") or "") ~= "" then
  function request()
    if #requests == 0 then
      return wrk.format()
    end
    nxt = nxt % #requests + 1
    return requests[nxt]
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
