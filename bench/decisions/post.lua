-- POST the JSON body in $BODY_FILE (alternating with $BODY_FILE2 when set) to the URL wrk was
-- given; $AUTH, when set, is the bearer key.
local function slurp(name)
  local f = assert(io.open(name, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local headers = {["Content-Type"] = "application/json"}
local auth = os.getenv("AUTH")
if auth and auth ~= "" then
  headers["Authorization"] = "Bearer " .. auth
end
local bodies = {slurp(os.getenv("BODY_FILE"))}
local second = os.getenv("BODY_FILE2")
if second and second ~= "" then
  bodies[2] = slurp(second)
end
local n = 0

request = function()
  n = n + 1
  return wrk.format("POST", nil, headers, bodies[(n % #bodies) + 1])
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d\n", summary.requests, summary.errors.status,
    latency:percentile(50), latency:percentile(99)))
end
