#include "testing/postgres.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>

#include <gtest/gtest.h>

namespace writ::testing {
namespace {

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  return out;
}

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class Server {
 public:
  ~Server() {
    if (started_) Ctl("stop -m fast");
    if (!info_.data_dir.empty()) std::filesystem::remove_all(std::filesystem::path(info_.data_dir).parent_path());
  }

  // Starts the server once; false (with `error`) if it cannot.
  bool EnsureStarted(std::string& error) {
    std::lock_guard lock(mu_);
    if (started_) return true;
    if (!error_.empty()) {
      error = error_;
      return false;
    }
    std::string bin = Run("pg_config --bindir");
    while (!bin.empty() && (bin.back() == '\n' || bin.back() == ' ')) bin.pop_back();
    if (bin.empty() || !std::filesystem::exists(bin + "/initdb")) {
      for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql"))
        if (std::filesystem::exists(e.path() / "bin/initdb")) bin = (e.path() / "bin").string();
    }
    info_.bin_dir = bin;
    char tmpl[] = "/tmp/writ-pg-XXXXXX";
    std::string root = mkdtemp(tmpl) ? tmpl : "";
    info_.data_dir = root + "/data";
    if (geteuid() == 0) {  // initdb refuses root: the server runs as `postgres`
      info_.run_as = "postgres";
      if (passwd* pw = getpwnam("postgres")) {
        if (chown(root.c_str(), pw->pw_uid, pw->pw_gid) != 0) error_ = "cannot chown " + root;
      } else {
        error_ = "no postgres user to run the test server as";
      }
    }
    if (error_.empty()) {
      std::string out = As("'" + bin + "/initdb' -D '" + info_.data_dir + "' -A trust -U postgres --no-sync");
      if (!std::filesystem::exists(info_.data_dir + "/PG_VERSION")) error_ = "initdb failed: " + out;
    }
    if (error_.empty()) {
      info_.port = FreePort();
      if (!StartLocked()) error_ = "pg_ctl start failed: " + Run("cat '" + root + "/log'");
    }
    if (!error_.empty()) {
      error = error_;
      return false;
    }
    started_ = true;
    return true;
  }

  bool Stop() {
    std::lock_guard lock(mu_);
    return Ctl("stop -m fast");
  }
  bool Start() {
    std::lock_guard lock(mu_);
    return StartLocked();
  }
  PostgresInfo info() {
    std::lock_guard lock(mu_);
    return info_;
  }

 private:
  std::string As(const std::string& cmd) {
    return Run(info_.run_as.empty() ? cmd : "runuser -u " + info_.run_as + " -- " + cmd);
  }
  bool Ctl(const std::string& what) {
    std::string root = std::filesystem::path(info_.data_dir).parent_path().string();
    std::string opts = "-p " + std::to_string(info_.port) + " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" +
                       root + " -c max_connections=300 -c fsync=on -c synchronous_commit=on";
    std::string out = As("'" + info_.bin_dir + "/pg_ctl' -D '" + info_.data_dir + "' -w -t 60 -l '" + root +
                         "/log' -o '" + opts + "' " + what);
    return out.find("done") != std::string::npos || out.find("server started") != std::string::npos ||
           out.find("server stopped") != std::string::npos;
  }
  bool StartLocked() { return Ctl("start"); }

  std::mutex mu_;
  bool started_ = false;
  std::string error_;
  PostgresInfo info_;
};

Server& TheServer() {
  static Server s;
  return s;
}

}  // namespace

const char* BackendName(Backend b) { return b == Backend::kSqlite ? "sqlite" : "postgres"; }
std::vector<Backend> AllBackends() { return {Backend::kSqlite, Backend::kPostgres}; }

std::string FreshPostgresUrl() {
  std::string error;
  if (!TheServer().EnsureStarted(error)) {
    ADD_FAILURE() << "test PostgreSQL server: " << error;
    return "postgres://postgres@127.0.0.1:1/none";
  }
  static std::atomic<int> next{0};
  std::string base = "postgres://postgres@127.0.0.1:" + std::to_string(TheServer().info().port);
  std::string db = "t" + std::to_string(getpid()) + "_" + std::to_string(next++);
  PGconn* c = PQconnectdb((base + "/postgres").c_str());
  PGresult* r = PQexec(c, ("CREATE DATABASE " + db).c_str());
  if (PQresultStatus(r) != PGRES_COMMAND_OK) ADD_FAILURE() << "CREATE DATABASE: " << PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  return base + "/" + db;
}

std::string FreshStoreUrl(Backend backend, const std::string& dir) {
  if (backend == Backend::kPostgres) return FreshPostgresUrl();
  return "sqlite:" + dir + "/db/writ.db";
}

PostgresInfo TestPostgres() { return TheServer().info(); }
bool StopTestPostgres() { return TheServer().Stop(); }
bool StartTestPostgres() { return TheServer().Start(); }

}  // namespace writ::testing
