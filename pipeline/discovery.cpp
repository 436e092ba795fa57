// Discovery: a hint (inotify event or scan entry) becomes an object, recorded once.
#include <sys/stat.h>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "archive/mover.h"
#include "landing/etag.h"
#include "landing/scan.h"
#include "pipeline/active.h"

namespace hivehook {

namespace {
constexpr uint64_t kHashOffLoopBytes = 4 << 20;  // bigger files are hashed off the loop thread

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}
int64_t now_ms() { return unix_ms(std::chrono::system_clock::now()); }

bool same_identity(const ObjectRecord& o, const struct stat& st) {
  return o.size == static_cast<uint64_t>(st.st_size) && o.mtime_ns == mtime_ns(st) &&
         o.inode == static_cast<uint64_t>(st.st_ino);
}

std::string sequencer_for(int64_t object_id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(object_id));
  return buf;
}
}  // namespace

void Pipeline::scan(const std::filesystem::path& dir) {
  scan_tree(
      config_.landing, dir,
      [this](const ScanEntry& e) {
        if (e.kind == EntryKind::regular) {
          offer(e.path, e.key);
        } else {
          struct stat st {};
          ::lstat(e.path.c_str(), &st);
          record_ignored(e.key, st.st_ino, e.kind == EntryKind::symlink ? "symlink" : "not a regular file");
        }
      },
      [](const std::filesystem::path& p, const std::string& err) {
        spdlog::warn("scan: cannot read {}: {}", p.string(), err);
      });
}

void Pipeline::offer(const std::filesystem::path& path, const std::string& key) { offer_checked(path, key, false); }

void Pipeline::record_ignored(const std::string& key, uint64_t inode, const std::string& why) {
  if (!ignored_seen_.insert(key + '\0' + std::to_string(inode)).second) return;
  ++stats_.ignored;
  stats_.m.objects_finished.labels({"ignored"}).inc();
  emit("object.ignored", key, {{"reason", why}});
}

void Pipeline::offer_checked(const std::filesystem::path& path, const std::string& key, bool after_settle) {
  if (active_by_key_.count(key) || hashing_.count(key)) return;  // already being handled
  if (!after_settle && settling_.count(key)) return;              // its timer re-checks

  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;  // gone again: nothing landed
  std::string basename = path.filename().string();
  if (S_ISLNK(st.st_mode)) return record_ignored(key, st.st_ino, "symlink");
  if (!S_ISREG(st.st_mode)) return record_ignored(key, st.st_ino, "not a regular file");
  if (is_ignored(basename, config_.ignore)) return record_ignored(key, st.st_ino, "ignored name");
  std::string err;
  auto parsed = parse_key(key, &err);
  if (!parsed) return record_ignored(key, st.st_ino, "invalid key: " + err);

  auto last = store_.last_object(key);
  if (last && same_identity(*last, st)) {
    switch (last->state) {
      case ObjectState::unmatched:
      case ObjectState::kept:
      case ObjectState::failed_kept:
      case ObjectState::duplicate:
        return;  // recorded already and left in landing on purpose
      default:
        break;  // the same file back in landing (a rename lost to power loss): a new arrival
    }
  }

  auto matched = match_rules(*rules_, *parsed);
  if (matched.empty()) {
    int64_t id = store_.next_object_id();
    ObjectRecord o;
    o.id = id;
    o.key = key;
    o.size = static_cast<uint64_t>(st.st_size);
    o.mtime_ns = mtime_ns(st);
    o.inode = st.st_ino;
    o.sequencer = sequencer_for(id);
    o.state = ObjectState::unmatched;
    o.discovered_at = now_ms();
    store_.insert_object(o);
    ++stats_.unmatched;
    stats_.m.objects_finished.labels({"unmatched"}).inc();
    emit("object.unmatched", key, {{"size", o.size}});
    batch_.request();
    return;
  }

  // settle: wait until the file has been quiet for the longest settle of its rules.
  Duration settle{0};
  for (const Rule* r : matched) settle = std::max(settle, r->settle);
  if (settle.count() > 0 && !after_settle) {
    auto& s = settling_[key];
    s.size = st.st_size;
    s.mtime_ns = mtime_ns(st);
    s.timer = std::make_unique<boost::asio::steady_timer>(io_, settle);
    s.timer->async_wait([this, path, key, settle](const boost::system::error_code& ec) {
      if (ec) return;
      auto it = settling_.find(key);
      if (it == settling_.end()) return;
      struct stat now {};
      if (::lstat(path.c_str(), &now) != 0) {
        settling_.erase(it);
        check_idle();
        return;
      }
      if (now.st_size != it->second.size || mtime_ns(now) != it->second.mtime_ns) {
        it->second.size = now.st_size;  // still changing: wait again
        it->second.mtime_ns = mtime_ns(now);
        it->second.timer->expires_after(settle);
        it->second.timer->async_wait([this, path, key](const boost::system::error_code& ec2) {
          if (ec2) return;
          settling_.erase(key);
          offer(path, key);  // re-enters the settle check with fresh stats
          check_idle();
        });
        return;
      }
      settling_.erase(it);
      offer_checked(path, key, true);
      check_idle();
    });
    return;
  }
  if (after_settle) settling_.erase(key);

  // eTag: small files inline, big ones on the hash thread so the loop never stalls.
  if (static_cast<uint64_t>(st.st_size) <= kHashOffLoopBytes) {
    auto etag = file_etag(path);
    if (!etag) return;  // vanished or unreadable between lstat and open
    admit(path, *parsed, st, std::move(matched), std::move(*etag), last);
    return;
  }
  hashing_.insert(key);
  boost::asio::post(hash_pool_, [this, path, key, parsed = *parsed, st, last]() mutable {
    auto etag = file_etag(path);
    boost::asio::post(io_, [this, path, key, parsed = std::move(parsed), st, last, etag = std::move(etag)]() mutable {
      hashing_.erase(key);
      if (etag) admit(path, parsed, st, match_rules(*rules_, parsed), std::move(*etag), last);
      check_idle();
    });
  });
}

void Pipeline::admit(const std::filesystem::path& path, const ObjectKey& key, const struct stat& st,
                     std::vector<const Rule*> matched, std::string etag,
                     const std::optional<ObjectRecord>& last) {
  if (active_by_key_.count(key.key) || matched.empty()) return;
  int64_t id = store_.next_object_id();
  auto a = std::make_unique<Active>();
  a->rec.id = id;
  a->rec.key = key.key;
  a->rec.size = static_cast<uint64_t>(st.st_size);
  a->rec.mtime_ns = mtime_ns(st);
  a->rec.inode = st.st_ino;
  a->rec.etag = std::move(etag);
  a->rec.sequencer = sequencer_for(id);
  a->rec.discovered_at = now_ms();
  a->key = key;
  a->path = path;
  a->ruleset = rules_;

  // The same content at the same key, already processed and archived — a re-upload, or the very
  // file back in landing after power loss undid its rename: recorded, moved, never re-run.
  bool archived_content = last && (last->state == ObjectState::archived || last->state == ObjectState::duplicate);
  if (archived_content && last->etag == a->rec.etag && last->size == a->rec.size) {
    a->rec.state = ObjectState::duplicate;
    store_.insert_object(a->rec);
    ++stats_.duplicates;
    stats_.m.objects_finished.labels({"duplicate"}).inc();
    emit("object.duplicate", key.key, {{"etag", a->rec.etag}, {"of_object", last->id}, {"size", a->rec.size}});
    // Out of landing without running: the archive already holds this content at this key.
    batch_.after_commit([this, id, path, k = key.key] {
      auto moved = move_object(path, config_.archive, k, std::to_string(id));
      if (moved.ok) {
        store_.set_object_state(id, ObjectState::duplicate, moved.final_path.string());
        batch_.request();
      } else if (!moved.source_missing) {
        spdlog::error("cannot move duplicate {} out of landing: {}", k, moved.error);
      }
    });
    return;
  }

  a->rec.state = ObjectState::pending;
  store_.insert_object(a->rec);
  nlohmann::json rule_names = nlohmann::json::array();
  int seq = 0;
  for (const Rule* r : matched) {
    TaskRecord t;
    t.object_id = id;
    t.rule = r->name;
    t.seq = seq++;
    store_.insert_task(t);
    a->tasks.push_back(t);
    rule_names.push_back(r->name);
  }
  ++stats_.discovered;
  stats_.m.objects_discovered.inc();
  emit("object.discovered", key.key,
       {{"size", a->rec.size}, {"etag", a->rec.etag}, {"sequencer", a->rec.sequencer}, {"rules", rule_names}});
  for (const auto& t : a->tasks) scheduler_.push(id, t.rule);
  active_by_key_[key.key] = id;
  active_.emplace(id, std::move(a));
  stats_.active_objects = active_.size();
  batch_.request();
  pump();
}

}  // namespace hivehook
