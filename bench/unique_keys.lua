-- wrk script: every request a new Idempotency-Key (S1: fresh writes).
-- A script that sets the global bench_path before dofile() posts there
-- instead of /orders (S9: an edge route).
local counter = 0
local path = bench_path or "/orders"
-- WRIT_BENCH_KEY (bench/ab.sh BENCH_AUTH): sent as a Bearer key; nil header otherwise.
local key = os.getenv("WRIT_BENCH_KEY")
local bearer = key and key ~= "" and ("Bearer " .. key) or nil
local prefix = ""
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end
function init(args)
  prefix = (args[1] or "k") .. "-" .. tid .. "-"
end
function request()
  counter = counter + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = bearer,
    ["Idempotency-Key"] = prefix .. counter,
  }, '{"customer":"c-17","amount":1250,"currency":"EUR","lines":[{"sku":"A-1","qty":2}]}')
end
