#include "s3/object_attrs.h"

#include <algorithm>

#include <sys/xattr.h>

#include <nlohmann/json.hpp>

#include "landing/etag.h"

namespace hivehook::s3 {

namespace {

const char* kStored[] = {"content-type", "cache-control", "content-disposition", "content-encoding", "content-language",
                         "expires"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::int64_t ns(const struct timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1000000000LL + t.tv_nsec; }

}  // namespace

std::string ObjectAttrs::content_type() const {
  auto it = headers.find("content-type");
  return it == headers.end() || it->second.empty() ? kDefaultContentType : it->second;
}

ObjectAttrs ObjectAttrs::from_request(const boost::beast::http::fields& request) {
  ObjectAttrs a;
  for (const auto& f : request) {
    const std::string name = lower({f.name_string().data(), f.name_string().size()});
    std::string value(f.value());
    bool keep = name.rfind("x-amz-meta-", 0) == 0;
    for (const char* s : kStored) keep = keep || name == s;
    if (!keep) continue;
    if (name == "content-encoding") {
      // "aws-chunked" is the upload's transport coding; S3 keeps only what follows it.
      std::string rest;
      std::size_t start = 0;
      while (start <= value.size()) {
        std::size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        std::string item = value.substr(start, comma - start);
        while (!item.empty() && item.front() == ' ') item.erase(0, 1);
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty() && lower(item) != "aws-chunked") rest += (rest.empty() ? "" : ",") + item;
        start = comma + 1;
      }
      if (rest.empty()) continue;
      value = rest;
    }
    a.headers[name] = value;
  }
  return a;
}

std::size_t ObjectAttrs::user_metadata_bytes() const {
  std::size_t n = 0;
  for (const auto& [name, value] : headers)
    if (name.rfind("x-amz-meta-", 0) == 0) n += name.size() - 11 + value.size();
  return n;
}

bool ObjectAttrs::write(int fd) const {
  if (headers.empty()) return true;
  const std::string json = nlohmann::json(headers).dump();
  return ::fsetxattr(fd, kAttrsXattr, json.data(), json.size(), 0) == 0;
}

ObjectAttrs ObjectAttrs::read(int fd) {
  ObjectAttrs a;
  char buf[8192];
  const ssize_t n = ::fgetxattr(fd, kAttrsXattr, buf, sizeof buf);
  if (n <= 0) return a;
  try {
    auto j = nlohmann::json::parse(std::string_view(buf, static_cast<std::size_t>(n)));
    if (!j.is_object()) return a;
    // The attribute is outside input (any process that can write the file can set it): a name or
    // value that could not travel in an HTTP header (a CR/LF would split the response) is dropped.
    auto header_safe = [](const std::string& s) {
      return std::none_of(s.begin(), s.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F; });
    };
    for (auto& [k, v] : j.items())
      if (v.is_string() && header_safe(k) && header_safe(v.get<std::string>())) a.headers[k] = v.get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return a;
}

std::optional<std::string> EtagCache::etag(int fd, const struct stat& st) {
  const std::uint64_t key = static_cast<std::uint64_t>(st.st_ino) * 1000003u ^ static_cast<std::uint64_t>(st.st_dev);
  {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end() && it->second.size == st.st_size && it->second.mtime_ns == ns(st.st_mtim) &&
        it->second.ctime_ns == ns(st.st_ctim))
      return it->second.etag;
  }
  auto e = fd_etag(fd);
  if (e) remember(st, *e);
  return e;
}

void EtagCache::remember(const struct stat& st, const std::string& etag) {
  const std::uint64_t key = static_cast<std::uint64_t>(st.st_ino) * 1000003u ^ static_cast<std::uint64_t>(st.st_dev);
  std::lock_guard lock(mu_);
  if (map_.size() >= capacity_) map_.clear();
  map_[key] = Entry{st.st_size, ns(st.st_mtim), ns(st.st_ctim), etag};
}

bool etag_matches(std::string_view list, const std::string& etag) {
  // A comma-separated list of quoted eTags, or "*".
  std::size_t start = 0;
  while (start < list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') item = item.substr(1, item.size() - 2);
    if (item == "*" || item == etag) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace hivehook::s3
