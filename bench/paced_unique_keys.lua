-- wrk script: unique_keys.lua at a fixed rate (S1 latency at half of peak).
-- Arguments: PREFIX RATE (requests/s).
dofile("bench/unique_keys.lua")
dofile("bench/pace.lua").pace_script(2)
