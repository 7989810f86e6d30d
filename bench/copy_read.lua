-- wrk script: reads of one entity of a dual copy (S10), at random over the
-- first N of the seeded collection: GET {PREFIX}cus_{1..N}.
-- Arguments: PREFIX (/customers/ at writ, /static/customers/ at nginx) N.
local prefix, n = "/customers/", 10000
function init(args)
  prefix = args[1] or prefix
  n = tonumber(args[2] or n)
end
function request()
  return wrk.format("GET", prefix .. "cus_" .. math.random(1, n))
end
