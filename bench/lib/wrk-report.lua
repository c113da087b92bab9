-- wrk script for the bench: no per-request Lua, so wrk keeps its fast path. With
-- PILLION_BENCH_POST_BYTES set, every request is a POST of that many bytes (the request is built
-- once). At the end it prints one JSON line (latency in microseconds).
local post = tonumber(os.getenv("PILLION_BENCH_POST_BYTES") or "")
if post then
  wrk.method = "POST"
  wrk.body = string.rep("x", post)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
