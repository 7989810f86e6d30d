-- wrk script (S8): PUT of a 2 KiB document with If-Match, round robin over
-- the drafts listed in the file named by the first argument. Each draft's
-- version is known (1 + the saves sent to it before): with many more drafts
-- than connections a draft's previous save has finished before its next.
local ids, versions, body = {}, {}, nil
local n, counter = 0, 0
function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    ids[n] = line
    versions[n] = 1
  end
  -- each thread its own slice would need the thread count; one thread is used
  local head = '{"applicant":{"name":"Ada Lovelace","email":"ada@example.com"},"notes":"'
  body = head .. string.rep("y", 2048 - #head - 2) .. '"}'
end
function request()
  counter = counter + 1
  local i = (counter - 1) % n + 1
  local v = versions[i]
  versions[i] = v + 1
  return wrk.format("PUT", "/applications/drafts/" .. ids[i],
                    {["Content-Type"] = "application/json", ["If-Match"] = '"' .. v .. '"'}, body)
end
