-- wrk script: async submissions (S3/S4), every request a new Idempotency-Key
-- and one of 1000 accounts. Arguments: PREFIX [PATH] (default /payments; the
-- Restate peer takes /payments/submit/send).
local counter = 0
local prefix = ""
local path = "/payments"
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end
function init(args)
  prefix = (args[1] or "k") .. "-" .. tid .. "-"
  path = args[2] or path
end
function request()
  counter = counter + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. counter,
  }, '{"accountId":"acc-' .. (counter % 1000) .. '","amount":1250,"currency":"EUR","reference":"bench"}')
end
