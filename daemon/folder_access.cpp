#include "daemon/folder_access.h"

#include "base/path_access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

namespace hivehook {

namespace {
namespace fs = std::filesystem;

fs::path existing(const fs::path& p) { return nearest_existing(p); }

std::optional<uint64_t> mount_id(const fs::path& p) {
  struct statx stx {};
  if (::statx(AT_FDCWD, p.c_str(), 0, STATX_MNT_ID, &stx) != 0 || !(stx.stx_mask & STATX_MNT_ID)) return std::nullopt;
  return stx.stx_mnt_id;
}

constexpr const char* kDropIn =
    "under systemd (ProtectSystem=strict) give the service a drop-in, systemctl edit hivehook: [Service] "
    "ReadWritePaths= naming one common parent of landing, archive and quarantine";
}  // namespace

fs::path nearest_existing(const fs::path& p) {
  fs::path at = fs::absolute(p).lexically_normal();
  std::error_code ec;
  while (!at.empty() && !fs::exists(at, ec) && at != at.root_path()) at = at.parent_path();
  return at;
}

std::optional<std::string> make_folders(const Config& config) {
  const std::pair<const char*, fs::path> folders[] = {
      {"landing", config.landing}, {"archive", config.archive}, {"quarantine", config.quarantine}};
  for (const auto& [key, path] : folders) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (!ec) continue;
    return "cannot create the " + std::string(key) + " folder " + path.string() + ": " + ec.message() +
           " (this daemon runs as " + process_user() + "). Make it for that user (as root: install -d -o " +
           process_user_name() + " -g " + process_group_name() + " " + path.string() + "), and " + kDropIn;
  }
  return std::nullopt;
}

std::vector<std::string> folder_access_warnings(const Config& config) {
  std::vector<std::string> out;
  const std::pair<const char*, fs::path> folders[] = {
      {"landing", config.landing}, {"archive", config.archive}, {"quarantine", config.quarantine}};
  for (const auto& [key, path] : folders) {
    const fs::path at = existing(path);
    const std::string moves = std::string("every move ") + (std::string(key) == "landing" ? "out of" : "into") + " it will fail";
    if (::access(at.c_str(), W_OK) != 0 && errno == EROFS) {
      out.push_back(std::string(key) + " " + path.string() + " is on a file system that is read-only for this "
                    "process: " + moves + "; " + kDropIn);
    } else if (PathAccess a = probe_write_access(at); a.state == PathAccess::State::denied && !a.refused.empty()) {
      const std::string user = process_user_name();
      out.push_back(std::string(key) + " " + path.string() + " is not writable for this daemon, " + process_user() +
                    ": " + a.refused + ": " + moves + "; as root: chown " + user + ": " + a.refused_path.string());
    }
  }
  const auto landing_mount = mount_id(existing(config.landing));
  for (const auto& [key, path] : {folders[1], folders[2]}) {
    const auto m = mount_id(existing(path));
    if (landing_mount && m && *m != *landing_mount)
      out.push_back(std::string(key) + " " + path.string() + " is on another mount than landing " +
                    config.landing.string() + ": each move is a copy, then a delete (not a rename); " +
                    "if they are on one file system, " + kDropIn + " (each ReadWritePaths= entry is a mount of its own)");
  }
  return out;
}

}  // namespace hivehook
