-- wrk script: every request is a different pre-built request, one per VEN (its own token).
-- args: <requests file> <threads> [once]. File lines: METHOD<TAB>PATH<TAB>TOKEN<TAB>BODY (BODY may be
-- empty; one starting with "<" is sent as application/xml, any other as application/json).
-- Thread k takes lines k, k+threads, ...; its connections share the thread's list: cycled from a
-- random start, or with "once" sent once each from the first (bounded writes: each line creates or
-- deletes one object), after which the thread stops (a request still asked for is GET /health) and
-- interrupts wrk (SIGINT: it ends the run early and reports the time actually taken, not -d).
-- With BENCH_EXPECT set in the environment, an answer whose body lacks that text counts as bad
-- (2.0b answers are HTTP 200 with the outcome in responseCode); without it bodies are not read.
-- done() prints one line "BENCHJSON {...}" with counts and latency percentiles (microseconds).
local reqs = {}
local n = 0
local idx = 0
local counter = 0
local once = false
local stopped = false
local checked = false
local threads = {}
local expect = os.getenv("BENCH_EXPECT")
bad = 0 -- global: done() reads it from each thread

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   local file, nthreads = args[1], tonumber(args[2])
   once = args[3] == "once"
   local i = 0
   for line in io.lines(file) do
      if i % nthreads == tid then
         local m, p, tok, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
         local h = {}
         if tok ~= "" then h["Authorization"] = "Bearer " .. tok end
         if body == "" then
            body = nil
         elseif body:sub(1, 1) == "<" then
            h["Content-Type"] = "application/xml"
         else
            h["Content-Type"] = "application/json"
         end
         n = n + 1
         reqs[n] = wrk.format(m, p, h, body)
      end
      i = i + 1
   end
   if once then idx = 0 else idx = math.random(n) - 1 end
end

function request()
   if not checked then
      -- wrk asks the first thread's script for one request to check it, and never sends it
      checked = true
      if tid == 0 and n > 0 then return reqs[1] end
   end
   idx = idx + 1
   if idx > n then
      if once then
         if not stopped then
            stopped = true
            -- The shell's parent is wrk (not os.execute: system() ignores SIGINT while it runs).
            -- Again every 50 ms until wrk is gone: a SIGINT that comes before wrk's handler is
            -- installed is lost, and one that comes before its main thread sleeps does not wake it.
            -- At most 2 s (an exited wrk stays a zombie until reaped), holding none of its pipes.
            local sh = io.popen("(for i in $(seq 40); do kill -INT $PPID || exit; sleep 0.05; done)"
               .. " </dev/null >/dev/null 2>&1 &")
            if sh then sh:close() end
            wrk.thread:stop()
         end
         return wrk.format("GET", "/health")
      end
      idx = 1
   end
   return reqs[idx]
end

if expect ~= nil and expect ~= "" then
   function response(status, headers, body)
      -- status >= 400 is counted by wrk itself (summary.errors.status)
      if status < 400 and (body == nil or not string.find(body, expect, 1, true)) then bad = bad + 1 end
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local total_bad = 0
   for _, t in ipairs(threads) do total_bad = total_bad + (t:get("bad") or 0) end
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"bad":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
      e.timeout, total_bad, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
