#include "cli/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <fstream>
#include <thread>

#include <boost/json.hpp>

extern char** environ;

namespace writ {

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : std::string("writ");
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(o.pid_), log_(std::move(o.log_)), log_start_(o.log_start_), admin_port_(o.admin_port_) {
  o.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    pid_ = o.pid_;
    log_ = std::move(o.log_);
    log_start_ = o.log_start_;
    admin_port_ = o.admin_port_;
    o.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    Wait();
  }
}

Result<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv, const std::string& log_path,
                                         const std::vector<std::string>& env) {
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status(Code::kUnavailable, "cannot open " + log_path);
  off_t start = ::lseek(fd, 0, SEEK_END);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (const auto& e : env) envs.push_back(e);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return Status(Code::kUnavailable, "fork failed");
  }
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(fd);
  ChildProcess c;
  c.pid_ = pid;
  c.log_ = log_path;
  c.log_start_ = start;
  return c;
}

Result<uint16_t> ChildProcess::WaitListening(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status(Code::kUnavailable, "process exited before listening; see " + log_);
    }
    std::ifstream in(log_);
    in.seekg(log_start_);
    std::string line, last;
    while (std::getline(in, line)) {
      if (line.find("\"msg\":\"listening\"") == std::string::npos) continue;
      last = line;
    }
    if (!last.empty()) {
      boost::system::error_code ec;
      auto v = boost::json::parse(last, ec);
      if (!ec && v.is_object() && v.as_object().contains("port")) {
        if (auto* a = v.as_object().if_contains("admin_port"); a && a->is_number())
          admin_port_ = static_cast<uint16_t>(a->to_number<int64_t>());
        return static_cast<uint16_t>(v.as_object().at("port").to_number<int64_t>());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Status(Code::kUnavailable, "timed out waiting for the listening line in " + log_);
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int ChildProcess::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int ChildProcess::Stop(Millis grace) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  return Wait();
}

}  // namespace writ
