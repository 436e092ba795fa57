// One owner per state DB: an exclusive flock on "<db>.lock", holding the owner's pid for messages.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/unique_fd.h"

namespace hivehook {

class OwnerLock {
 public:
  // Takes the lock, or returns nullopt with *error naming the current owner ("... pid 1234 (hivehook run)").
  static std::optional<OwnerLock> acquire(const std::filesystem::path& db_path, const std::string& role,
                                          std::string* error);
  // The pid holding the lock, if any (used by `status` to tell whether the daemon is up).
  static std::optional<int> holder(const std::filesystem::path& db_path, std::string* role = nullptr);

 private:
  explicit OwnerLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace hivehook
