-- wrk script: buffered uploads (S5), every request one NDJSON batch of
-- `items` (default 1000) products with SKUs never used before.
local counter = 0
local prefix = ""
local items = 1000
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end
function init(args)
  prefix = (args[1] or "b") .. "-" .. tid .. "-"
  items = tonumber(args[2] or "1000")
end
function request()
  counter = counter + 1
  local lines = {}
  for i = 1, items do
    lines[i] = '{"sku":"' .. prefix .. counter .. "-" .. i .. '","name":"bench product","price":1250,"stock":7}'
  end
  return wrk.format("POST", "/products/bulk", {["Content-Type"] = "application/x-ndjson"},
                    table.concat(lines, "\n") .. "\n")
end
