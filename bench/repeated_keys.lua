-- wrk script: cycles through a fixed set of keys already completed (S2: replays).
-- The keys are created beforehand by bench/run.sh with the same body.
local counter = 0
-- WRIT_BENCH_KEY (bench/ab.sh BENCH_AUTH): sent as a Bearer key; nil header otherwise.
local key = os.getenv("WRIT_BENCH_KEY")
local bearer = key and key ~= "" and ("Bearer " .. key) or nil
local nkeys = 1000
function init(args)
  nkeys = tonumber(args[1] or "1000")
  counter = math.random(0, nkeys - 1)
end
function request()
  counter = (counter + 1) % nkeys
  return wrk.format("POST", "/orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = bearer,
    ["Idempotency-Key"] = "replay-" .. counter,
  }, '{"customer":"c-17","amount":1250,"currency":"EUR","lines":[{"sku":"A-1","qty":2}]}')
end
