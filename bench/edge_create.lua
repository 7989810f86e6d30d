-- wrk script: unique_keys.lua's writes to the edge route /edge/orders (S9):
-- the same body and fresh keys, each committed locally and answered 201.
-- Argument: PREFIX.
bench_path = "/edge/orders"
dofile("bench/unique_keys.lua")
