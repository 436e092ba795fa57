#include "pipeline/landing_scan.h"

#include <algorithm>
#include <cerrno>

namespace hivehook {

namespace {
bool vanished(int err) { return err == ENOENT || err == ENOTDIR; }

std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }
}  // namespace

LandingScan::LandingScan(FileOps& files, std::string dir) : files_(files), dir_(std::move(dir)) {
  pending_dirs_.push_back(dir_);
}

bool LandingScan::list_next(const std::function<void(const std::string&)>& on_error) {
  if (pending_dirs_.empty()) return false;
  const std::string dir = std::move(pending_dirs_.back());
  pending_dirs_.pop_back();
  auto entries = files_.list(dir);
  if (!entries) {
    // The scanned folder itself turned out to be a file (a file renamed over it): that file is the find.
    if (entries.code() == ENOTDIR && dir == dir_ && !dir_.empty()) files_found_.push_back({dir_, EntryType::other});
    else if (!vanished(entries.code()) && on_error) on_error(entries.message());
  } else {
    for (auto& e : *entries) {
      if (e.type == EntryType::directory) pending_dirs_.push_back(join(dir, e.name));
      else files_found_.push_back({join(dir, e.name), e.type});
    }
  }
  if (!pending_dirs_.empty()) return true;
  // By the whole key: a per-folder order would put "a/b" before "a.x" although '.' < '/'.
  std::sort(files_found_.begin(), files_found_.end(),
            [](const ScanFound& a, const ScanFound& b) { return a.key < b.key; });
  sorted_ = true;
  return false;
}

const ScanFound* LandingScan::next() {
  if (!sorted_ || pos_ >= files_found_.size()) return nullptr;
  return &files_found_[pos_++];
}

}  // namespace hivehook
