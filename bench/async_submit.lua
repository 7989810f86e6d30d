-- wrk script: async submissions (S3/S4), every request a new Idempotency-Key
-- and one of 1000 accounts. Arguments: PREFIX [PATH] (default /payments; the
-- Restate peer takes /payments/submit/send). With the global SEND_TIME set
-- (bench/paced_async_submit.lua) each body also carries `sentAt`.
local counter = 0
-- WRIT_BENCH_KEY (bench/ab.sh BENCH_AUTH): sent as a Bearer key; nil header otherwise.
local key = os.getenv("WRIT_BENCH_KEY")
local bearer = key and key ~= "" and ("Bearer " .. key) or nil
local prefix = ""
local path = "/payments"
local clock = SEND_TIME and dofile("bench/pace.lua").clock_ms
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end
function init(args)
  prefix = (args[1] or "k") .. "-" .. tid .. "-"
  path = args[2] or path
end
function request()
  counter = counter + 1
  local sent = clock and string.format(',"sentAt":%.3f', clock(0)) or ""
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = bearer,
    ["Idempotency-Key"] = prefix .. counter,
  }, '{"accountId":"acc-' .. (counter % 1000) .. '","amount":1250,"currency":"EUR","reference":"bench"' .. sent .. '}')
end
