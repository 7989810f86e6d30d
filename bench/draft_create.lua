-- wrk script (S8): creates drafts with a 2 KiB document (second argument
-- "order": S1's 90-byte order instead); when the run ends, writes their
-- ids, one per line, to the file named by the first argument.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
ids = {}  -- per thread; read by done() through thread:get
local body
function init(args)
  out_path = args[1]
  local head = '{"applicant":{"name":"Ada Lovelace","email":"ada@example.com"},"notes":"'
  body = head .. string.rep("x", 2048 - #head - 2) .. '"}'
  if args[2] == "order" then
    body = '{"customer":"c-17","amount":1250,"currency":"EUR","lines":[{"sku":"A-1","qty":2}]}'
  end
end
function request()
  return wrk.format("POST", "/applications/drafts", {["Content-Type"] = "application/json"}, body)
end
function response(status, headers, resp)
  if status == 201 then
    local id = resp:match('"draftId":"([^"]+)"')
    if id then ids[#ids + 1] = id end
  end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local f = io.open(t:get("out_path"), "a")
    for _, id in ipairs(t:get("ids")) do f:write(id, "\n") end
    f:close()
  end
end
