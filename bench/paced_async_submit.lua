-- wrk script: async_submit.lua at a fixed rate, each body carrying `sentAt`
-- (ms since the epoch) from which the mock master's GET /_latency tells how
-- long each write took from the client to the master (S4 latency).
-- Arguments: PREFIX PATH RATE (requests/s).
SEND_TIME = true
dofile("bench/async_submit.lua")
dofile("bench/pace.lua").pace_script(3)
