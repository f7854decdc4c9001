-- wrk: one fixed chat completion per request, the key from PRELLM_BENCH_KEY when set; prints
-- one JSON line of rate and latency percentiles (milliseconds) when the run ends.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("PRELLM_BENCH_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
wrk.body = '{"model": "fast", "messages": [{"role": "user", "content": "Say hello in five words."}], "max_tokens": 16}'

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"requests":%d,"errors":%d}\n',
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.requests, errors))
end
