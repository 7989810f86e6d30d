-- wrk script (S8): submits each draft listed in the file named by the first
-- argument once (sync submit: the master's answer), If-Match "1", a fresh key.
local ids, n, counter, prefix = {}, 0, 0, ""
function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    ids[n] = line
  end
  prefix = (args[2] or "s") .. "-"
end
function request()
  counter = counter + 1
  local id = ids[(counter - 1) % n + 1]  -- past the end: a repeat (replayed), counted apart by the caller
  return wrk.format("POST", "/applications/drafts/" .. id .. "/submit",
                    {["If-Match"] = '"1"', ["Idempotency-Key"] = prefix .. id})
end
