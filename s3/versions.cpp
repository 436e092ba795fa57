#include "s3/versions.h"

#include <fcntl.h>

#include <algorithm>

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

FsResult<std::vector<Version>> versions_of(const Tree& tree, const std::string& key) {
  const auto [folder, base] = split_key(key);
  auto dir = tree.open_dir(folder);
  if (!dir) return dir.error();
  Tree sub(std::move(*dir), tree.path_of(folder));
  auto entries = sub.list_dir("");
  if (!entries) return entries.error();
  std::vector<Version> out;
  for (const auto& e : *entries) {
    if (e.type != EntryType::regular) continue;
    Version v;
    if (e.name != base) {
      auto b = version_base(e.name, &v.id);
      if (!b || *b != base) continue;
    }
    if (::fstatat(sub.fd(), e.name.c_str(), &v.st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(v.st.st_mode)) continue;
    v.name = e.name;
    out.push_back(std::move(v));
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
