-- wrk script: GET of one fixed path (S10's floor: GET /healthz, writ's HTTP
-- stack with no route behind it). Argument: PATH.
local path = "/healthz"
function init(args)
  path = args[1] or path
end
function request()
  return wrk.format("GET", path)
end
