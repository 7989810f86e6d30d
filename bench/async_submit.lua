-- wrk script: async submissions (S3/S4), every request a new Idempotency-Key
-- and one of 1000 accounts.
local counter = 0
local prefix = ""
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end
function init(args)
  prefix = (args[1] or "k") .. "-" .. tid .. "-"
end
function request()
  counter = counter + 1
  return wrk.format("POST", "/payments", {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. counter,
  }, '{"accountId":"acc-' .. (counter % 1000) .. '","amount":1250,"currency":"EUR","reference":"bench"}')
end
