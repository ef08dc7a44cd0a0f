-- A full self-declaration check: POST /v1/checks, then POST its evidence; repeat.
-- Run with one connection per thread (-c equal to -t) so each thread's state machine
-- belongs to exactly one connection.
local n = 0
local pending = nil
local checks = 0

request = function()
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer ageband-demo-key"}
  if pending then
    local body = '{"method": "self_declaration", "birth_year": 1990}'
    return wrk.format("POST", "/v1/checks/" .. pending .. "/evidence", headers, body)
  end
  n = n + 1
  local body = '{"subject": "bench-' .. tostring(math.random(1, 1e9)) .. '-' .. n .. '", "jurisdiction": "default"}'
  return wrk.format("POST", "/v1/checks", headers, body)
end

response = function(status, headers, body)
  if pending then
    pending = nil
    if status == 200 then checks = checks + 1 end
  else
    pending = string.match(body, '"check_id":"([^"]+)"')
  end
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d\n", summary.requests, summary.errors.status,
    latency:percentile(50), latency:percentile(99)))
end
