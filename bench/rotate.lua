-- wrk script: every request is a different pre-built request, one per VEN (its own token).
-- args: <requests file> <threads>. File lines: METHOD<TAB>PATH<TAB>TOKEN<TAB>BODY (BODY may be empty).
-- Thread k takes lines k, k+threads, ...; each connection then cycles through the thread's list.
-- done() prints one line "BENCHJSON {...}" with counts and latency percentiles (microseconds).
local reqs = {}
local n = 0
local idx = 0
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
end

function init(args)
   local file, nthreads = args[1], tonumber(args[2])
   local i = 0
   for line in io.lines(file) do
      if i % nthreads == tid then
         local m, p, tok, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
         local h = {}
         if tok ~= "" then h["Authorization"] = "Bearer " .. tok end
         if body == "" then body = nil else h["Content-Type"] = "application/json" end
         n = n + 1
         reqs[n] = wrk.format(m, p, h, body)
      end
      i = i + 1
   end
   idx = math.random(n) - 1
end

function request()
   idx = idx + 1
   if idx > n then idx = 1 end
   return reqs[idx]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
      e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
