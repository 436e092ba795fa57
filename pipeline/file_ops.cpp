#include "pipeline/file_ops.h"

#include <sys/stat.h>

#include <cerrno>

#include "landing/etag.h"

namespace hivehook {

LocalFileOps::LocalFileOps(std::filesystem::path landing, std::filesystem::path archive,
                           std::filesystem::path quarantine)
    : landing_(std::move(landing)), archive_(std::move(archive)), quarantine_(std::move(quarantine)) {}

const std::filesystem::path& LocalFileOps::root(Area tree) const {
  switch (tree) {
    case Area::archive:
      return archive_;
    case Area::quarantine:
      return quarantine_;
    case Area::landing:
      break;
  }
  return landing_;
}

std::filesystem::path LocalFileOps::path(Area tree, const std::string& key) const { return root(tree) / key; }

FileInfo LocalFileOps::stat(const std::string& key) {
  FileInfo info;
  struct stat st {};
  if (::lstat(path(Area::landing, key).c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) info.error = errno;
    return info;
  }
  info.exists = true;
  info.kind = S_ISREG(st.st_mode) ? EntryKind::regular : S_ISLNK(st.st_mode) ? EntryKind::symlink : EntryKind::other;
  info.inode = st.st_ino;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  info.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec;
  return info;
}

std::optional<std::string> LocalFileOps::etag(const std::string& key, std::string* error) {
  return file_etag(path(Area::landing, key), error);
}

MoveResult LocalFileOps::move(const std::string& key, Area to, const std::string& unique_suffix) {
  return move_object(path(Area::landing, key), root(to), key, unique_suffix);
}

MoveResult LocalFileOps::remove(const std::string& key) { return delete_object(path(Area::landing, key)); }

bool LocalFileOps::write_error_json(const std::string& key, const std::string& json, std::string* error) {
  return hivehook::write_error_json(quarantine_, key, json, error);
}

std::optional<std::filesystem::path> LocalFileOps::find_moved(Area tree, const std::string& key, int64_t id,
                                                              uint64_t inode, uint64_t size) {
  const auto at_key = path(tree, key);
  for (const auto& candidate : {at_key, std::filesystem::path(at_key.string() + "~" + std::to_string(id))}) {
    struct stat st {};
    if (::lstat(candidate.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == inode &&
        static_cast<uint64_t>(st.st_size) == size)
      return candidate;
  }
  return std::nullopt;
}

}  // namespace hivehook
