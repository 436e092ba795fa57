#include "s3/multipart.h"

#include <sys/random.h>

#include <cstdio>

#include "s3/sigv4.h"

namespace hivehook::s3 {

std::optional<int> parse_part_number(const std::string& s) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const int n = std::stoi(s);
  if (n < 1 || n > kMaxParts) return std::nullopt;
  return n;
}

namespace {

std::string new_id() {
  unsigned char b[16];
  std::size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  return hex_encode(std::string_view(reinterpret_cast<char*>(b), sizeof b));
}

bool valid_id(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::vector<std::string> remove_tree(const Tree& tree, const std::string& rel) {
  std::vector<std::string> errors;
  auto entries = tree.list_dir(rel);
  if (!entries) {
    if (entries.code() != ENOENT) errors.push_back(entries.message());
    return errors;
  }
  for (const auto& e : *entries) {
    const std::string child = rel.empty() ? e.name : rel + "/" + e.name;
    if (e.type == EntryType::directory) {
      auto sub = remove_tree(tree, child);
      errors.insert(errors.end(), sub.begin(), sub.end());
    } else if (auto st = tree.unlink(child); !st.ok() && st.code() != ENOENT) {
      errors.push_back(st.message());
    }
  }
  if (!rel.empty())
    if (auto st = tree.remove_dir(rel); !st.ok() && st.code() != ENOENT) errors.push_back(st.message());
  return errors;
}

MultipartUploads::MultipartUploads(Tree staging) : staging_(std::move(staging)) {}

std::string MultipartUploads::part_name(const std::string& id, int number) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%05d", number);
  return id + "/" + buf;
}

std::size_t MultipartUploads::clear_leftovers() {
  std::size_t n = 0;
  auto entries = staging_.list_dir("");
  if (!entries) return 0;
  for (const auto& e : *entries) {
    std::lock_guard lock(mu_);
    if (uploads_.count(e.name)) continue;
    if (e.type == EntryType::directory) {
      remove_tree(staging_, e.name);
      ++n;
    } else {
      (void)staging_.unlink(e.name);
    }
  }
  return n;
}

std::variant<std::string, S3Error> MultipartUploads::create(const std::string& bucket, const std::string& key,
                                                            ObjectAttrs attrs) {
  const std::string id = new_id();
  if (auto st = staging_.make_dirs(id, 0700); !st.ok())
    return errors::internal_error("cannot start the upload: " + st.message());
  Upload u;
  u.id = id;
  u.bucket = bucket;
  u.key = key;
  u.attrs = std::move(attrs);
  u.initiated = std::chrono::system_clock::now();
  u.last_activity = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  uploads_.emplace(id, std::move(u));
  return id;
}

std::optional<S3Error> MultipartUploads::check(const std::string& id, const std::string& bucket,
                                               const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = uploads_.find(id);
  if (it == uploads_.end() || it->second.completing || it->second.bucket != bucket || it->second.key != key)
    return errors::no_such_upload(id);
  return std::nullopt;
}

FsResult<TempFile> MultipartUploads::part_file(const std::string& id) {
  if (!valid_id(id)) return FsError{ENOENT, "no such upload"};
  return TempFile::create(staging_, id, 0600);
}

std::optional<S3Error> MultipartUploads::add_part(const std::string& id, Part part, TempFile file) {
  std::lock_guard lock(mu_);
  auto it = uploads_.find(id);
  if (it == uploads_.end() || it->second.completing) return errors::no_such_upload(id);
  part.generation = ++generations_;
  part.staged = true;
  if (auto st = file.publish(part_name(id, part.number), Replace::yes); !st.ok()) {
    if (st.code() == ENOENT) return errors::no_such_upload(id);
    return errors::internal_error("cannot store the part: " + st.message());
  }
  it->second.last_activity = std::chrono::steady_clock::now();
  it->second.parts[part.number] = std::move(part);
  return std::nullopt;
}

std::optional<Upload> MultipartUploads::get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = uploads_.find(id);
  if (it == uploads_.end()) return std::nullopt;
  return it->second;
}

std::vector<Upload> MultipartUploads::list(const std::string& bucket) const {
  std::vector<Upload> out;
  std::lock_guard lock(mu_);
  for (const auto& [id, u] : uploads_)
    if (u.bucket == bucket && !u.completing) out.push_back(u);
  return out;
}

std::variant<Upload, S3Error> MultipartUploads::begin_complete(const std::string& id, const std::string& bucket,
                                                               const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = uploads_.find(id);
  if (it == uploads_.end() || it->second.completing || it->second.bucket != bucket || it->second.key != key)
    return errors::no_such_upload(id);
  it->second.completing = true;
  return it->second;
}

void MultipartUploads::cancel_complete(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = uploads_.find(id);
  if (it != uploads_.end()) it->second.completing = false;
}

void MultipartUploads::set_assembly(const std::string& id, std::shared_ptr<Assembly> a) {
  std::lock_guard lock(mu_);
  auto it = uploads_.find(id);
  if (it != uploads_.end()) it->second.assembly = std::move(a);
}

void MultipartUploads::moved_to_assembly(const std::string& id, int number, std::uint64_t generation) {
  {
    std::lock_guard lock(mu_);
    auto it = uploads_.find(id);
    if (it == uploads_.end()) return;
    auto p = it->second.parts.find(number);
    if (p == it->second.parts.end() || p->second.generation != generation) return;
    p->second.staged = false;
  }
  (void)staging_.unlink(part_name(id, number));
}

bool MultipartUploads::completing(const std::string& id, const std::string& bucket, const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = uploads_.find(id);
  return it != uploads_.end() && it->second.completing && it->second.bucket == bucket && it->second.key == key;
}

void MultipartUploads::remember_completed(const std::string& id, CompletedUpload c) {
  std::lock_guard lock(mu_);
  if (completed_.size() >= 10000) {  // the oldest goes
    auto oldest = completed_.begin();
    for (auto it = completed_.begin(); it != completed_.end(); ++it)
      if (it->second.at < oldest->second.at) oldest = it;
    completed_.erase(oldest);
  }
  completed_[id] = std::move(c);
}

std::optional<CompletedUpload> MultipartUploads::completed(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = completed_.find(id);
  if (it == completed_.end()) return std::nullopt;
  return it->second;
}

void MultipartUploads::remove_folder(const std::string& id) {
  if (valid_id(id)) remove_tree(staging_, id);
}

bool MultipartUploads::remove(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    if (uploads_.erase(id) == 0) return false;
  }
  remove_folder(id);
  return true;
}

std::vector<std::string> MultipartUploads::expire(std::chrono::steady_clock::duration expiry) {
  std::vector<std::string> gone;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    for (auto it = uploads_.begin(); it != uploads_.end();) {
      if (!it->second.completing && now - it->second.last_activity > expiry) {
        gone.push_back(it->first);
        it = uploads_.erase(it);
      } else {
        ++it;
      }
    }
  }
  {
    std::lock_guard lock(mu_);
    for (auto it = completed_.begin(); it != completed_.end();)
      it = now - it->second.at > expiry ? completed_.erase(it) : std::next(it);
  }
  for (const auto& id : gone) remove_folder(id);
  return gone;
}

}  // namespace hivehook::s3
