// A real PostgreSQL server for the tests: started once per test process
// (initdb + pg_ctl in a temporary directory, on a free loopback port, trust
// authentication), stopped when the process exits. Run as root (CI), the
// server runs as the `postgres` user (initdb refuses root). Binaries come
// from `pg_config --bindir` (Debian's postgresql package).
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "store/store.h"

namespace writ::testing {

enum class Backend { kSqlite, kPostgres };
const char* BackendName(Backend b);
inline void PrintTo(Backend b, std::ostream* os) { *os << BackendName(b); }
// Both backends, for INSTANTIATE_TEST_SUITE_P.
std::vector<Backend> AllBackends();

// postgres://postgres@127.0.0.1:PORT/DB for a new, empty database on the
// shared test server (started on first use). Fails the test if the server
// cannot start.
std::string FreshPostgresUrl();
// The store URL a test of `backend` should use: a file under `dir` for
// SQLite, a fresh database for PostgreSQL.
std::string FreshStoreUrl(Backend backend, const std::string& dir);

// The running test server: its port and data directory ("" before start).
struct PostgresInfo {
  uint16_t port = 0;
  std::string data_dir, bin_dir, run_as;  // run_as: "postgres" when root, else ""
};
PostgresInfo TestPostgres();
// Stops (pg_ctl stop -m fast) and starts the server again, same data.
bool StopTestPostgres();
bool StartTestPostgres();

}  // namespace writ::testing
