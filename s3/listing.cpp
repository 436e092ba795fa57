#include "s3/listing.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "base/utf8.h"
#include "s3/versions.h"

namespace hivehook::s3 {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// A character XML 1.0 cannot carry, even as a reference: C0 controls but tab, LF and CR
// (https://www.w3.org/TR/xml/#charsets).
bool has_xml_unsafe_control(const std::string& name) {
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return true;
  }
  return false;
}

class Walker {
 public:
  Walker(const ListQuery& q, ListPage& page) : q_(q), page_(page) {}

  // Visits folder `dir` (an open Tree on it) whose keys start with `key_prefix` ("" or "a/b/").
  void walk(const Tree& dir, const std::string& key_prefix) {
    if (stop_) return;
    auto entries = dir.list_dir("");
    if (!entries) {
      if (entries.code() != ENOENT) page_.errors.push_back(entries.message());
      return;
    }
    // Sort by the entry's key as it sorts among all keys: a folder "a" holds keys "a/...", which
    // sort after "a-b" and "a.c" ('/' is 0x2F).
    struct Item {
      std::string sort;  // name, or name + "/" for a folder; a version's: the name it stands for
      EntryType type;
      std::string file;  // the file's own name
    };
    std::vector<Item> items;
    items.reserve(entries->size());
    std::map<std::string, Version> latest;  // latest_versions: the key's name -> its latest version
    for (auto& e : *entries) {
      if (is_temp_name(e.name)) continue;
      if (!is_valid_utf8(e.name) || (!q_.url_encoded && has_xml_unsafe_control(e.name))) {
        if (page_.unlisted.size() < 100) page_.unlisted.push_back(dir.path_of(e.name));
        continue;
      }
      if (e.type == EntryType::directory) {
        items.push_back({e.name + "/", e.type, e.name});
      } else if (e.type == EntryType::regular && !q_.latest_versions) {
        items.push_back({e.name, e.type, e.name});
      } else if (e.type == EntryType::regular) {
        Version v;
        auto base = version_base(e.name, &v.id);
        if (::fstatat(dir.fd(), e.name.c_str(), &v.st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        v.name = e.name;
        const std::string name = base ? *base : e.name;
        auto it = latest.find(name);
        if (it == latest.end())
          latest.emplace(name, std::move(v));
        else if (stored_later(v, it->second))
          it->second = std::move(v);
      }
    }
    for (auto& [name, v] : latest) items.push_back({name, EntryType::regular, v.name});
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.sort < b.sort; });
    for (const auto& item : items) {
      if (stop_) return;
      const std::string full = key_prefix + item.sort;
      if (item.type == EntryType::directory) {
        if (!may_hold_wanted_keys(full)) continue;
        const std::string name = item.sort.substr(0, item.sort.size() - 1);
        auto fd = dir.open_dir(name);
        if (!fd) {
          if (fd.code() != ENOENT) page_.errors.push_back(fd.message());
          continue;
        }
        Tree sub(std::move(*fd), dir.path_of(name));
        walk(sub, full);
      } else {
        visit_file(dir, item.file, full);
      }
    }
  }

 private:
  // Every key under folder prefix `full` ("a/b/") starts with it. Is any of them wanted?
  bool may_hold_wanted_keys(const std::string& full) const {
    if (!(starts_with(full, q_.prefix) || starts_with(q_.prefix, full))) return false;
    if (!skip_.empty() && starts_with(full, skip_)) return false;
    // All keys under `full` are <= start_after when start_after sorts after them all.
    if (!q_.start_after.empty() && full < q_.start_after && !starts_with(q_.start_after, full)) return false;
    return true;
  }

  void visit_file(const Tree& dir, const std::string& name, const std::string& key) {
    if (!starts_with(key, q_.prefix)) return;
    if (!q_.start_after.empty() && key <= q_.start_after) return;
    if (!skip_.empty() && starts_with(key, skip_)) return;
    if (!q_.delimiter.empty()) {
      const std::size_t pos = key.find(q_.delimiter, q_.prefix.size());
      if (pos != std::string::npos) {
        std::string cp = key.substr(0, pos + q_.delimiter.size());
        skip_ = cp;
        emit_prefix(std::move(cp));
        return;
      }
    }
    struct stat st;
    if (::fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) return;
    if (full()) return;
    const std::size_t slash = key.rfind('/');
    const std::string file = (slash == std::string::npos ? std::string() : key.substr(0, slash + 1)) + name;
    page_.objects.push_back(ListedObject{key, file, static_cast<std::uint64_t>(st.st_size),
                                         static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec});
    page_.last = key;
    page_.last_is_prefix = false;
  }

  void emit_prefix(std::string cp) {
    if (full()) return;
    page_.last = cp;
    page_.last_is_prefix = true;
    page_.common_prefixes.push_back(std::move(cp));
  }

  // True (and the walk stops) when the page already holds max_keys entries: one more exists.
  bool full() {
    if (page_.objects.size() + page_.common_prefixes.size() < q_.max_keys) return false;
    page_.truncated = true;
    stop_ = true;
    return true;
  }

  const ListQuery& q_;
  ListPage& page_;
  std::string skip_ = q_.skip_prefix;
  bool stop_ = false;
};

}  // namespace

ListPage list_tree(const Tree& tree, const ListQuery& query) {
  ListPage page;
  if (query.max_keys == 0) return page;
  auto root = tree.open_dir("");
  if (!root) {
    page.errors.push_back(root.message());
    return page;
  }
  Tree top(std::move(*root), tree.root());
  Walker(query, page).walk(top, "");
  return page;
}

}  // namespace hivehook::s3
