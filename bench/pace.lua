-- Shared by the paced wrk scripts (dofile'd from the repository root, where
-- bench/run.sh runs wrk; the ffi types are declared once per Lua state). wrk has no constant-rate mode, so each request
-- reserves the next slot of one schedule spaced 1/rate apart and waits for it
-- in delay(); the connections only carry the requests. When the server falls
-- behind, the slots are in the past and requests go at once (the achieved
-- rate then shows it).
local ffi = require("ffi")
if not PACE_CDEF then
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } pace_timespec;
    int clock_gettime(int clk, pace_timespec *ts);
  ]]
  PACE_CDEF = true
end
local ts = ffi.new("pace_timespec")
local pace = {}

-- Milliseconds on CLOCK_MONOTONIC (1) or CLOCK_REALTIME (0, ms since the epoch).
function pace.clock_ms(clk)
  ffi.C.clock_gettime(clk, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

-- A delay() for wrk that spaces requests 1000/rate ms apart.
function pace.delay_fn(rate)
  local gap_ms = 1000 / rate
  local next_slot = nil
  return function()
    local t = pace.clock_ms(1)
    if next_slot == nil or next_slot < t - 1000 then next_slot = t end  -- no burst to catch up after a stall
    next_slot = next_slot + gap_ms
    local d = next_slot - t
    if d < 0 then return 0 end
    return math.floor(d)
  end
end

-- Paces the script loaded before it: wraps its init() to read the rate from
-- argument `rate_arg` and defines the global delay() wrk looks for.
function pace.pace_script(rate_arg)
  local inner_init = init
  local pacer = function() return 0 end
  init = function(args)
    if inner_init then inner_init(args) end
    pacer = pace.delay_fn(tonumber(args[rate_arg] or "1000"))
  end
  delay = function() return pacer() end
end

return pace
