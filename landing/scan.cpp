#include "landing/scan.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace hivehook {

namespace {

namespace fs = std::filesystem;

// A folder that vanished (or turned into a file) while we walked is not an error: it just has no
// entries any more.
bool vanished(const std::error_code& ec) {
  return ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory;
}

EntryKind kind_of(fs::file_type t) {
  switch (t) {
    case fs::file_type::regular:
      return EntryKind::regular;
    case fs::file_type::symlink:
      return EntryKind::symlink;
    default:
      return EntryKind::other;
  }
}

std::string normalized(const fs::path& p) {
  std::string s = fs::absolute(p).lexically_normal().native();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

}  // namespace

void scan_tree(const fs::path& landing, const fs::path& dir, const std::function<void(const ScanEntry&)>& visit,
               const std::function<void(const fs::path&, const std::string&)>& on_error) {
  auto report = [&](const std::string& path, const std::string& message) {
    if (on_error) on_error(path, message);
  };
  const std::string root = normalized(landing);
  const std::string top = normalized(dir);

  // The key of `top`: "" for landing itself, else its path below landing.
  std::string top_key;
  if (top != root) {
    const std::string prefix = root == "/" ? root : root + "/";
    if (top.compare(0, prefix.size(), prefix) != 0) {
      report(top, "not inside the landing folder " + root);
      return;
    }
    top_key = top.substr(prefix.size());
  }

  std::vector<ScanEntry> entries;
  if (top != root) {
    // A sub-folder is never followed when it is a symlink (the landing root itself may be one).
    struct stat st;
    if (::lstat(top.c_str(), &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) report(top, std::strerror(errno));
      return;
    }
    if (!S_ISDIR(st.st_mode)) {
      EntryKind kind = S_ISREG(st.st_mode) ? EntryKind::regular : S_ISLNK(st.st_mode) ? EntryKind::symlink : EntryKind::other;
      visit(ScanEntry{top, top_key, kind});
      return;
    }
  }

  // Collect everything, then sort by the full key: a per-folder walk would put "a/b" before
  // "a.x" although '.' < '/' byte-wise. std::string compares bytes as unsigned char.
  std::vector<std::pair<std::string, std::string>> stack{{top, top_key}};  // (path, key)
  while (!stack.empty()) {
    auto [path, key] = std::move(stack.back());
    stack.pop_back();
    std::error_code ec;
    fs::directory_iterator it(path, ec), end;
    if (ec) {
      if (!vanished(ec)) report(path, ec.message());
      continue;
    }
    for (; it != end; it.increment(ec)) {
      const std::string name = it->path().filename().native();
      std::string child_path = join(path, name);
      std::string child_key = join(key, name);
      std::error_code type_ec;
      const fs::file_type type = it->symlink_status(type_ec).type();  // lstat: never follows
      if (type_ec) {
        if (!vanished(type_ec)) report(child_path, type_ec.message());
        continue;
      }
      if (type == fs::file_type::directory) {
        stack.emplace_back(std::move(child_path), std::move(child_key));
      } else {
        entries.push_back(ScanEntry{fs::path(std::move(child_path)), std::move(child_key), kind_of(type)});
      }
    }
    if (ec && !vanished(ec)) report(path, ec.message());
  }

  std::sort(entries.begin(), entries.end(), [](const ScanEntry& a, const ScanEntry& b) { return a.key < b.key; });
  for (const auto& e : entries) visit(e);
}

}  // namespace hivehook
