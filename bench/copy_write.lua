-- wrk script: local writes to a dual copy (S10): PUT /customers/cus_{1..N}
-- at random, the whole record with a new balance, no If-Match (the last
-- write wins locally; each is synced to the master after its 200).
-- Arguments: N.
local n, counter = 10000, 0
function init(args)
  n = tonumber(args[1] or n)
end
function request()
  counter = counter + 1
  local i = math.random(1, n)
  return wrk.format("PUT", "/customers/cus_" .. i, {["Content-Type"] = "application/json"},
    '{"id":"cus_' .. i .. '","name":"Customer ' .. i .. '","balance":' .. counter .. '}')
end
