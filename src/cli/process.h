// ChildProcess: starts another program (usually this very `writ` binary)
// with its output in a log file, waits for its "listening" log line to learn
// the port, and stops or kills it. Used by `writ demo` and the tests.
// Thread-safety: one owner thread per ChildProcess.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace writ {

// Absolute path of the running executable.
std::string SelfExe();

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ~ChildProcess();  // kills with SIGKILL if still running

  // argv[0] is the program; `env` entries are "NAME=value" added to ours.
  static Result<ChildProcess> Spawn(const std::vector<std::string>& argv, const std::string& log_path,
                                    const std::vector<std::string>& env = {});
  // Waits for a log line containing "msg":"listening", written by this
  // process (not an earlier one appending to the same log), and returns its port.
  Result<uint16_t> WaitListening(Millis timeout);
  // The admin listener's port from that line (writ serve with
  // server.admin_listen); 0 if it has none.
  uint16_t admin_port() const { return admin_port_; }
  void Signal(int sig);
  // Waits for exit; returns the exit code, or 128+signal.
  int Wait();
  // Sends SIGTERM and waits up to `grace`, then SIGKILL.
  int Stop(Millis grace = 5'000);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_; }

 private:
  pid_t pid_ = -1;
  std::string log_;
  std::streamoff log_start_ = 0;  // the log may be shared with earlier runs
  uint16_t admin_port_ = 0;
};

}  // namespace writ
