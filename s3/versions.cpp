#include "s3/versions.h"

#include <fcntl.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace hivehook::s3 {

namespace {

constexpr std::string_view kErrorSuffix = ".error.json";

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 19 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::pair<std::string, std::string> split_key(const std::string& key) {
  const std::size_t slash = key.rfind('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

}  // namespace

std::optional<std::string> version_base(std::string_view name, std::uint64_t* id) {
  std::string_view tail;
  if (name.size() > kErrorSuffix.size() && name.substr(name.size() - kErrorSuffix.size()) == kErrorSuffix) {
    tail = kErrorSuffix;
    name.remove_suffix(kErrorSuffix.size());
  }
  const std::size_t tilde = name.rfind('~');
  if (tilde == std::string_view::npos || tilde == 0) return std::nullopt;
  std::string_view suffix = name.substr(tilde + 1);
  if (const std::size_t dash = suffix.find('-'); dash != std::string_view::npos) {
    if (!all_digits(suffix.substr(dash + 1))) return std::nullopt;
    suffix = suffix.substr(0, dash);
  }
  if (!all_digits(suffix)) return std::nullopt;
  if (id) *id = std::stoull(std::string(suffix));
  return std::string(name.substr(0, tilde)) + std::string(tail);
}

std::string version_id(std::string_view name) {
  if (!version_base(name)) return "null";
  if (name.size() > kErrorSuffix.size() && name.substr(name.size() - kErrorSuffix.size()) == kErrorSuffix &&
      version_base(name.substr(0, name.size() - kErrorSuffix.size())))
    name.remove_suffix(kErrorSuffix.size());
  return std::string(name.substr(name.rfind('~') + 1));
}

std::vector<std::string> version_paths(const std::string& key, const std::string& id) {
  if (id == "null") return {key};
  const std::size_t dash = id.find('-');
  if (!all_digits(id.substr(0, dash)) || (dash != std::string::npos && !all_digits(id.substr(dash + 1)))) return {};
  std::vector<std::string> out{key + "~" + id};
  const auto [folder, base] = split_key(key);
  if (base.size() > kErrorSuffix.size() && std::string_view(base).substr(base.size() - kErrorSuffix.size()) == kErrorSuffix)
    out.push_back(key.substr(0, key.size() - kErrorSuffix.size()) + "~" + id + std::string(kErrorSuffix));
  return out;
}

bool stored_later(const Version& a, const Version& b) {
  if (a.st.st_ctim.tv_sec != b.st.st_ctim.tv_sec) return a.st.st_ctim.tv_sec > b.st.st_ctim.tv_sec;
  if (a.st.st_ctim.tv_nsec != b.st.st_ctim.tv_nsec) return a.st.st_ctim.tv_nsec > b.st.st_ctim.tv_nsec;
  return a.id > b.id;
}

namespace {

// The names of a large folder by the key they are versions of, kept while the folder is unchanged
// (retest R14: every GET or HEAD of an archived key listed its whole folder, 0.2-0.75 s in a
// folder of 100,000 objects, on the workers every client shares). A folder's mtime changes with
// every name added, removed or renamed in it, so a cached listing is used only while the folder
// has the mtime it had when listed, and only when that mtime was already 100 ms old then
// (timestamps are coarse: a change within the same tick as the listing would not show). ctimes
// (which version is latest) are read afresh each time, from the few names of the key.
constexpr std::size_t kCacheFolderMin = 512;  // smaller folders are listed each time
constexpr std::size_t kCacheFolders = 16;

struct FolderNames {
  dev_t dev = 0;
  ino_t ino = 0;
  struct timespec mtime {};
  std::unordered_map<std::string, std::vector<std::string>> by_base;  // base -> its names (base included)
};

std::mutex g_cache_mu;
std::unordered_map<std::string, std::shared_ptr<const FolderNames>> g_cache;  // by absolute folder path

bool same_time(const struct timespec& a, const struct timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

}  // namespace

FsResult<std::vector<Version>> versions_of(const Tree& tree, const std::string& key) {
  const auto [folder, base] = split_key(key);
  auto dir = tree.open_dir(folder);
  if (!dir) return dir.error();
  const std::string where = tree.path_of(folder);
  Tree sub(std::move(*dir), where);
  struct stat dst {};
  const bool dir_known = ::fstat(sub.fd(), &dst) == 0;
  std::shared_ptr<const FolderNames> names;
  if (dir_known) {
    std::lock_guard lock(g_cache_mu);
    if (auto it = g_cache.find(where); it != g_cache.end()) {
      if (it->second->dev == dst.st_dev && it->second->ino == dst.st_ino && same_time(it->second->mtime, dst.st_mtim))
        names = it->second;
      else
        g_cache.erase(it);
    }
  }
  std::vector<Version> out;
  auto add = [&](const std::string& name, std::uint64_t id) {
    Version v;
    v.id = id;
    if (::fstatat(sub.fd(), name.c_str(), &v.st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(v.st.st_mode)) return;
    v.name = name;
    out.push_back(std::move(v));
  };
  if (names) {
    if (auto it = names->by_base.find(base); it != names->by_base.end())
      for (const auto& name : it->second) {
        std::uint64_t id = 0;
        if (name != base) version_base(name, &id);
        add(name, id);
      }
    return out;
  }
  struct timespec listed_at {};
  ::clock_gettime(CLOCK_REALTIME, &listed_at);
  auto entries = sub.list_dir("");
  if (!entries) return entries.error();
  auto index = std::make_shared<FolderNames>();
  const bool cache = dir_known && entries->size() >= kCacheFolderMin &&
                     (listed_at.tv_sec - dst.st_mtim.tv_sec) * 1000 + (listed_at.tv_nsec - dst.st_mtim.tv_nsec) / 1000000 > 100;
  for (const auto& e : *entries) {
    if (e.type != EntryType::regular) continue;
    std::uint64_t id = 0;
    const auto b = e.name == base ? std::optional<std::string>(base) : version_base(e.name, &id);
    if (cache) index->by_base[b ? *b : e.name].push_back(e.name);
    if (e.name != base && (!b || *b != base)) continue;
    add(e.name, id);
  }
  if (cache) {
    index->dev = dst.st_dev;
    index->ino = dst.st_ino;
    index->mtime = dst.st_mtim;
    std::lock_guard lock(g_cache_mu);
    if (g_cache.size() >= kCacheFolders) g_cache.erase(g_cache.begin());
    g_cache[where] = std::move(index);
  }
  return out;
}

FsResult<OpenedVersion> open_latest(const Tree& tree, const std::string& key) {
  auto versions = versions_of(tree, key);
  if (!versions) return versions.error();
  std::sort(versions->begin(), versions->end(), [](const Version& a, const Version& b) { return stored_later(a, b); });
  const auto [folder, base] = split_key(key);
  FsError last{ENOENT, "no object " + tree.path_of(key)};
  for (const auto& v : *versions) {  // latest first; one removed meanwhile: the next
    const std::string rel = folder.empty() ? v.name : folder + "/" + v.name;
    auto fd = tree.open_regular(rel);
    if (fd) return OpenedVersion{rel, std::move(*fd)};
    last = fd.error();
    if (fd.code() != ENOENT) break;
  }
  return last;
}

std::optional<OpenedVersion> open_identity(const Tree& tree, const std::string& key, dev_t dev, ino_t ino) {
  auto versions = versions_of(tree, key);
  if (!versions) return std::nullopt;
  const auto [folder, base] = split_key(key);
  for (const auto& v : *versions) {
    if (v.st.st_dev != dev || v.st.st_ino != ino) continue;
    const std::string rel = folder.empty() ? v.name : folder + "/" + v.name;
    auto fd = tree.open_regular(rel);
    struct stat st;
    if (fd && ::fstat(fd->get(), &st) == 0 && st.st_dev == dev && st.st_ino == ino) return OpenedVersion{rel, std::move(*fd)};
  }
  return std::nullopt;
}

}  // namespace hivehook::s3
