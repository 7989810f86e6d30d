-- wrk script: async submissions at a fixed rate (S4 accept-to-master latency),
-- each with a new Idempotency-Key and `sentAt` (ms since the epoch) in its
-- body, from which the mock master's GET /_latency computes how long each
-- write took from the client to the master. Pacing in bench/pace.lua.
-- Arguments: PREFIX RATE [PATH] (default /payments).
local pace = dofile("bench/pace.lua")
local counter = 0
local prefix = ""
local pacer = function() return 0 end

-- Global at load time: wrk checks for delay() before init() runs.
function delay()
  return pacer()
end
local path = "/payments"

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end

function init(args)
  prefix = (args[1] or "k") .. "-" .. tid .. "-"
  pacer = pace.delay_fn(tonumber(args[2] or "1000"))
  path = args[3] or path
end

function request()
  counter = counter + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. counter,
  }, string.format('{"accountId":"acc-%d","amount":1250,"currency":"EUR","reference":"bench","sentAt":%.3f}',
    counter % 1000, pace.clock_ms(0)))
end
