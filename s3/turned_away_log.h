// The log lines of clients the S3 endpoint turns away by itself (issue 12 re-test, R5: refused and
// cut-off clients were invisible): 503 SlowDown at a connection limit, 400 RequestTimeout for a
// body too slow. One warning per reason at most every kEvery, naming the client (its process, on
// this machine) and how many more were turned away since, so a flood of refusals is a few lines.
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace hivehook::s3 {

class TurnedAwayLog {
 public:
  static constexpr std::chrono::seconds kEvery{10};
  // `now` is a seam for tests (default: steady_clock::now); `warn` receives each line (default:
  // spdlog::warn).
  explicit TurnedAwayLog(std::function<std::chrono::steady_clock::time_point()> now = nullptr,
                         std::function<void(const std::string&)> warn = nullptr);
  // One client turned away (http::Options::on_turned_away's arguments).
  void note(const char* reason, const std::string& client, const std::string& message);

 private:
  struct Reason {
    std::chrono::steady_clock::time_point last{};
    bool logged = false;
    std::size_t since = 0;  // turned away since the last line, not in it
  };
  std::function<std::chrono::steady_clock::time_point()> now_;
  std::function<void(const std::string&)> warn_;
  std::mutex mu_;
  std::map<std::string, Reason> reasons_;
};

}  // namespace hivehook::s3
