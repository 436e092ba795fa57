// Discovery: a hint (inotify event or scan entry) becomes an object, recorded once.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "landing/scan.h"
#include "pipeline/active.h"

namespace hivehook {

namespace {
constexpr uint64_t kHashOffLoopBytes = 4 << 20;  // bigger files are hashed off the loop thread

bool same_identity(const ObjectRecord& o, const FileInfo& f) {
  return o.size == f.size && o.mtime_ns == f.mtime_ns && o.inode == f.inode;
}

std::string sequencer_for(int64_t object_id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(object_id));
  return buf;
}

// The row every kind of arrival starts from.
ObjectRecord new_record(int64_t id, const std::string& key, const FileInfo& info, int64_t now_ms) {
  ObjectRecord o;
  o.id = id;
  o.key = key;
  o.size = info.size;
  o.mtime_ns = info.mtime_ns;
  o.inode = info.inode;
  o.sequencer = sequencer_for(id);
  o.discovered_at = now_ms;
  return o;
}
}  // namespace

void Pipeline::scan(const std::filesystem::path& dir) {
  scan_tree(
      config_.landing, dir,
      [this](const ScanEntry& e) {
        if (e.kind == EntryKind::regular) return offer(e.key);
        record_ignored(e.key, files_.stat(e.key).inode,
                       e.kind == EntryKind::symlink ? "symlink" : "not a regular file");
      },
      [](const std::filesystem::path& p, const std::string& err) {
        spdlog::warn("scan: cannot read {}: {}", p.string(), err);
      });
}

void Pipeline::offer(const std::string& key) { offer_checked(key, false); }

void Pipeline::record_ignored(const std::string& key, uint64_t inode, const std::string& why) {
  if (!ignored_seen_.insert(key + '\0' + std::to_string(inode)).second) return;
  stats_.m.objects_finished.labels({"ignored"}).inc();
  emit("object.ignored", key, {{"reason", why}});
}

// Recorded already and left in landing on purpose: the same file is not a new arrival.
bool Pipeline::known_and_left(const std::optional<ObjectRecord>& last, const FileInfo& info) const {
  if (!last || !same_identity(*last, info)) return false;
  switch (last->state) {
    case ObjectState::unmatched:
    case ObjectState::kept:
    case ObjectState::failed_kept:
    case ObjectState::duplicate:
      return true;
    default:
      return false;  // the same file back in landing (a rename lost to power loss): a new arrival
  }
}

void Pipeline::offer_checked(const std::string& key, bool after_settle) {
  if (active_by_key_.count(key) || hashing_.count(key)) return;  // already being handled
  if (!after_settle && settling_.count(key)) return;              // its timer re-checks

  FileInfo info = files_.stat(key);
  if (!info.exists) return;  // gone again: nothing landed
  if (info.kind == EntryKind::symlink) return record_ignored(key, info.inode, "symlink");
  if (info.kind != EntryKind::regular) return record_ignored(key, info.inode, "not a regular file");
  const auto slash = key.rfind('/');
  if (is_ignored(slash == std::string::npos ? key : key.substr(slash + 1), config_.ignore))
    return record_ignored(key, info.inode, "ignored name");
  std::string err;
  auto parsed = parse_key(key, &err);
  if (!parsed) return record_ignored(key, info.inode, "invalid key: " + err);

  auto last = store_.last_object(key);
  if (known_and_left(last, info)) return;
  auto matched = match_rules(*rules_, *parsed);
  if (matched.empty()) return record_unmatched(key, info);

  // settle: wait until the file has been quiet for the longest settle of its rules.
  Duration quiet{0};
  for (const Rule* r : matched) quiet = std::max(quiet, r->settle);
  if (quiet.count() > 0 && !after_settle) return settle(key, info, quiet);
  if (after_settle) settling_.erase(key);
  hash_then_admit(*parsed, info, std::move(last));
}

void Pipeline::record_unmatched(const std::string& key, const FileInfo& info) {
  ObjectRecord o = new_record(store_.next_object_id(), key, info, clock_.now_ms());
  o.state = ObjectState::unmatched;
  record_new(o, {{"size", o.size}});
}

void Pipeline::settle(const std::string& key, const FileInfo& info, Duration quiet) {
  auto& s = settling_[key];
  s.size = info.size;
  s.mtime_ns = info.mtime_ns;
  s.timer = timers_.after(quiet, [this, key, quiet] { on_settled(key, quiet); });
}

// The settle timer fired: admit the file if it stayed the same, else wait another quiet period.
void Pipeline::on_settled(const std::string& key, Duration quiet) {
  auto it = settling_.find(key);
  if (it == settling_.end()) return;
  FileInfo now = files_.stat(key);
  if (!now.exists) {
    settling_.erase(it);
    return;
  }
  if (now.size != it->second.size || now.mtime_ns != it->second.mtime_ns) {
    it->second.size = now.size;  // still changing: wait again, then start over with fresh stats
    it->second.mtime_ns = now.mtime_ns;
    it->second.timer = timers_.after(quiet, [this, key] {
      settling_.erase(key);
      offer(key);
    });
    return;
  }
  offer_checked(key, true);
}

// eTag: small files inline, big ones on the hash thread so the loop never stalls.
void Pipeline::hash_then_admit(const ObjectKey& key, const FileInfo& info, std::optional<ObjectRecord> last) {
  if (info.size <= kHashOffLoopBytes) {
    auto etag = files_.etag(key.key, nullptr);
    if (etag) admit(key, info, std::move(*etag), last);  // else vanished or unreadable meanwhile
    return;
  }
  hashing_.insert(key.key);
  boost::asio::post(hash_pool_, [this, key, info, last = std::move(last)]() mutable {
    auto etag = files_.etag(key.key, nullptr);
    boost::asio::post(io_, [this, key, info, last = std::move(last), etag = std::move(etag)]() mutable {
      hashing_.erase(key.key);
      if (etag) admit(key, info, std::move(*etag), last);
    });
  });
}

void Pipeline::admit(const ObjectKey& key, const FileInfo& info, std::string etag,
                     const std::optional<ObjectRecord>& last) {
  auto matched = match_rules(*rules_, key);  // the rules may have changed while it was hashed
  if (active_by_key_.count(key.key) || matched.empty()) return;
  ObjectRecord rec = new_record(store_.next_object_id(), key.key, info, clock_.now_ms());
  rec.etag = std::move(etag);
  // The same content at the same key, already processed and archived — a re-upload, or the very
  // file back in landing after power loss undid its rename: recorded, moved, never re-run.
  bool archived_content = last && (last->state == ObjectState::archived || last->state == ObjectState::duplicate);
  if (archived_content && last->etag == rec.etag && last->size == rec.size) return admit_duplicate(rec, *last);

  auto a = std::make_unique<Active>();
  a->key = key;
  a->path = files_.path(Area::landing, key.key);
  a->ruleset = rules_;
  nlohmann::json rule_names = nlohmann::json::array();
  for (const Rule* r : matched) {
    TaskRecord t;
    t.object_id = rec.id;
    t.rule = r->name;
    t.seq = static_cast<int>(a->tasks.size());
    a->tasks.push_back(std::move(t));
    rule_names.push_back(r->name);
  }
  rec.state = ObjectState::pending;
  a->rec = std::move(rec);
  record_new(a->rec, {{"size", a->rec.size}, {"etag", a->rec.etag}, {"sequencer", a->rec.sequencer}, {"rules", rule_names}});
  Active& ref = *a;
  active_by_key_[key.key] = ref.rec.id;
  active_.emplace(ref.rec.id, std::move(a));
  admit_tasks(ref);  // queued, or waiting for what after:/requires: name
  if (on_admitted) on_admitted(ref.rec, key, matched);
  pump();
}

void Pipeline::admit_duplicate(ObjectRecord rec, const ObjectRecord& of) {
  rec.state = ObjectState::duplicate;
  record_new(rec, {{"etag", rec.etag}, {"of_object", of.id}, {"size", rec.size}});
  // Out of landing without running: the archive already holds this content at this key.
  batch_.after_commit([this, rec]() mutable {
    auto moved = files_.move(rec.key, Area::archive, std::to_string(rec.id));
    if (moved.ok) transition(rec, ObjectState::duplicate, nullptr, moved.final_path.string());
    else if (!moved.source_missing) spdlog::error("cannot move duplicate {} out of landing: {}", rec.key, moved.error);
  });
}

}  // namespace hivehook
