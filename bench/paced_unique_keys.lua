-- wrk script: fresh Idempotency-Key per request, sent at a fixed rate
-- (S1 latency at half of peak load; pacing in bench/pace.lua).
-- Arguments: PREFIX RATE (requests/s).
local pace = dofile("bench/pace.lua")
local counter = 0
local prefix = ""
local pacer = function() return 0 end

-- Global at load time: wrk checks for delay() before init() runs.
function delay()
  return pacer()
end

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end

function init(args)
  prefix = (args[1] or "k") .. "-" .. tid .. "-"
  pacer = pace.delay_fn(tonumber(args[2] or "1000"))
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/orders", {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. counter,
  }, '{"customer":"c-17","amount":1250,"currency":"EUR","lines":[{"sku":"A-1","qty":2}]}')
end
