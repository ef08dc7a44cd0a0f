-- POST /v1/tokens/refresh for one sid (set by the runner through the SID variable).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ageband-demo-key"
wrk.body = '{"sid": "' .. os.getenv("SID") .. '"}'

done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d\n", summary.requests, summary.errors.status,
    latency:percentile(50), latency:percentile(99)))
end
