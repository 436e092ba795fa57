// Discovery: a hint (inotify event or scan entry) becomes an object, recorded once. Only complete
// files are admitted (a scan's finds pass the admission check), and the identity and eTag recorded
// are those of the bytes actually read.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <cstring>
#include <unistd.h>

#include <algorithm>

#include "base/path_access.h"
#include "pipeline/active.h"

namespace hivehook {

namespace {
constexpr std::size_t kMaxKeyBytes = 1024;       // S3's limit on a key's length
constexpr auto kScanSlice = std::chrono::milliseconds(20);  // the longest one slice of a scan holds the loop
constexpr std::size_t kScanSliceEntries = 1000;             // folders listed + files offered per slice, at most

FileIdentity identity_of(const ObjectRecord& o) { return {o.inode, o.size, o.mtime_ns, o.ctime_ns}; }

// Every field equal (compare_identity): used for ignored rows, whose reason may be the metadata
// itself (a file the daemon could not read, then chmod g+r: a new look).
bool same_identity(const ObjectRecord& o, const FileIdentity& id) {
  return compare_identity(identity_of(o), id) == IdentityMatch::same;
}

// The states whose file stays in landing on purpose (recorded once, not a new arrival while it is
// the same file).
bool left_in_landing(ObjectState s) {
  return s == ObjectState::unmatched || s == ObjectState::kept || s == ObjectState::failed_kept ||
         s == ObjectState::duplicate || s == ObjectState::ignored;
}

std::string sequencer_for(int64_t object_id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(object_id));
  return buf;
}

// The row every kind of arrival starts from.
ObjectRecord new_record(int64_t id, const std::string& key, const FileIdentity& fid, int64_t now_ms) {
  ObjectRecord o;
  o.id = id;
  o.key = key;
  o.size = fid.size;
  o.mtime_ns = fid.mtime_ns;
  o.ctime_ns = fid.ctime_ns;
  o.inode = fid.inode;
  o.sequencer = sequencer_for(id);
  o.discovered_at = now_ms;
  return o;
}

std::string basename_of(const std::string& key) {
  const auto slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}
}  // namespace

void Pipeline::scan(const std::filesystem::path& dir) {
  const auto root = config_.landing.lexically_normal();
  const auto rel = dir.lexically_normal().lexically_relative(root);
  std::string key = rel.generic_string();
  if (key == ".") key.clear();
  while (!key.empty() && key.back() == '/') key.pop_back();
  if (rel.empty() || key == ".." || key.rfind("../", 0) == 0) {
    spdlog::warn("scan: {} is not inside the landing folder {}", dir.string(), root.string());
    return;
  }
  start_scan(key);
}

void Pipeline::start_scan(const std::string& dir) {
  for (auto& s : scans_)
    if (s->walk.dir() == dir) {
      s->again = true;  // events were lost behind it: walk once more when this walk is done
      return;
    }
  scans_.push_back(std::make_unique<ScanRun>(files_, dir));
  ScanRun* s = scans_.back().get();
  s->started = clock_.steady_now();
  boost::asio::post(io_, [this, s] { scan_slice(s); });
}

// One slice of a scan: list folders, then offer files in key order, until the slice's time or
// entry budget is spent; then yield to the loop (timers, reaping, inotify, /healthz) and go on.
void Pipeline::scan_slice(ScanRun* s) {
  const SteadyTime until = clock_.steady_now() + kScanSlice;
  auto on_error = [](const std::string& message) { spdlog::warn("scan: {}", message); };
  std::size_t n = 0;
  for (;;) {
    if (!s->walk.listed()) s->walk.list_next(on_error);
    else if (const ScanFound* f = s->walk.next()) offer(f->key, Hint::scanned);
    else return scan_done(s);
    if (++n >= kScanSliceEntries || clock_.steady_now() >= until) break;
  }
  ++s->slices;
  boost::asio::post(io_, [this, s] { scan_slice(s); });
}

void Pipeline::scan_done(ScanRun* s) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - s->started).count();
  const std::string where = s->walk.dir().empty() ? "landing" : s->walk.dir();
  if (s->walk.dir().empty() || s->slices > 0)
    spdlog::info("scan of {} done: {} files in {} ms ({} slices)", where, s->walk.found(), ms, s->slices + 1);
  const std::string dir = s->walk.dir();
  const bool again = s->again;
  scans_.erase(std::find_if(scans_.begin(), scans_.end(), [s](const auto& p) { return p.get() == s; }));
  if (again) start_scan(dir);
}

// While the state DB cannot be written nothing is admitted: the file stays in landing and the
// rescan after the store recovers finds it (DESIGN.md "Faults at run time").
void Pipeline::offer(const std::string& key, Hint hint) {
  if (store_.fault()) return;
  offer_checked(key, hint, false);
}

// Recorded once (per identity, across restarts) as object.ignored with the reason; never run.
namespace {

// Issue 16 N8: an upload this daemon may not read (written elsewhere with umask 027/077, then
// renamed in: a rename keeps the file's own group and mode) was one info line. It is a warning
// that names the owner, group and mode, and what the uploader should do.
void warn_unreadable(const std::string& key, const FileInfo& info, const std::string& why) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.mode & 07777));
  spdlog::warn("\"{}\": {} (owner {}, group {}, mode {}; this daemon runs as user {}): recorded as ignored, not "
               "run. Uploads must be readable by the daemon's group: write the file inside landing as name.part "
               "(cat or cp --no-preserve=mode; a plain cp keeps a private source's mode), then rename it; or chgrp "
               "{} and chmod g+r before the rename. Once it is readable the next reconcile scan takes it, or at "
               "once: mv it to name.part and back",
               key, why, user_name(info.uid), group_name(info.gid), mode, process_user_name(),
               process_group_name());
}
}  // namespace

void Pipeline::record_ignored(const std::string& key, const FileInfo& info, const std::string& why) {
  auto last = store_.last_object(key);
  if (last && last->state == ObjectState::ignored && same_identity(*last, info.id)) return;
  if (why.rfind("cannot read: ", 0) == 0 && why.find("Permission denied") != std::string::npos)
    warn_unreadable(key, info, why);
  if (!claimed(new_record(0, key, info.id, 0))) return;
  ObjectRecord o = new_record(store_.next_object_id(), key, info.id, clock_.now_ms());
  o.state = ObjectState::ignored;
  o.error = why;
  record_new(o, {{"reason", why}});
}

std::unordered_set<std::string>& ignored_names_seen(const Pipeline* p, bool forget) {
  static std::unordered_map<const Pipeline*, std::unordered_set<std::string>> seen;
  if (forget) {
    seen.erase(p);
    static std::unordered_set<std::string> none;
    return none;
  }
  return seen[p];
}

// Recorded already and left in landing on purpose: the same file is not a new arrival. Only its
// ctime moved (P9: a chmod/chown/`touch -a`): the same file if its eTag is the same, which hashing
// tells (admit -> metadata_changed); an unmatched row has no eTag and runs nothing either way.
bool Pipeline::known_and_left(const std::optional<ObjectRecord>& last, const FileIdentity& id) const {
  if (!last || !left_in_landing(last->state)) return false;  // else the same file back in landing (a rename lost to power loss): a new arrival
  switch (compare_identity(identity_of(*last), id)) {
    case IdentityMatch::same:
      return true;
    case IdentityMatch::metadata_only:
      return last->state == ObjectState::unmatched;
    case IdentityMatch::different:
      break;
  }
  return false;
}

// P9: `h` is the file `last` recorded (left in landing), with the same bytes (eTag) and only its
// metadata changed: its new ctime is recorded, nothing runs. Ignored rows are not taken here: their
// reason may be the metadata (unreadable, then chmod g+r), so they are looked at anew.
bool Pipeline::metadata_changed(const std::optional<ObjectRecord>& last, const Hashed& h) {
  if (!last || !left_in_landing(last->state) || last->state == ObjectState::ignored) return false;
  if (last->etag.empty() || last->etag != h.etag) return false;
  if (compare_identity(identity_of(*last), h.id) != IdentityMatch::metadata_only) return false;
  ObjectRecord rec = *last;
  rec.ctime_ns = h.id.ctime_ns;
  store_.update_object(rec);
  batch_.request();
  spdlog::info("{}: only its metadata changed (mode, owner or times; the same bytes, eTag {}): object {} stays {}, "
               "not a new arrival", rec.key, rec.etag, rec.id, to_string(rec.state));
  return true;
}

// What kind of thing landed: a key the pipeline may take (complete, regular, a valid key), or
// nullopt (ignored and recorded, still being written, or gone).
std::optional<ObjectKey> Pipeline::classify(const std::string& key, const FileInfo& info, Hint hint) {
  if (info.error) {
    record_ignored(key, info, std::string("cannot look at it: ") + std::strerror(info.error));
    return std::nullopt;
  }
  if (!info.exists) {  // gone again: nothing landed
    self_rewrites_.erase(key);
    return unmark_busy(key), std::nullopt;
  }
  if (key.size() > kMaxKeyBytes) return record_ignored(key, info, "key longer than 1,024 bytes"), std::nullopt;
  if (info.kind == EntryKind::symlink) return record_ignored(key, info, "symlink"), std::nullopt;
  if (info.kind != EntryKind::regular) return record_ignored(key, info, "not a regular file"), std::nullopt;
  // hivehook's own temporary files (".hivehook-tmp-*": an S3 upload's name for the instant
  // between its link and its rename, which a scan of a new folder can see): never an object, and
  // not the user's file to be told about.
  if (is_temp_name(basename_of(key))) return unmark_busy(key), std::nullopt;
  if (is_ignored(basename_of(key), config_.ignore)) {
    // A name the `ignore` list skips on purpose (temporary files, dot files): an audit event once
    // per file while the daemon runs, never an object row (the user's choice, not a fault).
    if (ignored_names_seen(this).insert(key + '\0' + std::to_string(info.id.inode)).second) {
      stats_.m.objects_finished.labels({"ignored"}).inc();
      emit("object.ignored", key, {{"reason", "ignored name"}});
    }
    return std::nullopt;
  }
  std::string err;
  auto parsed = parse_key(key, &err);
  if (!parsed) return record_ignored(key, info, "invalid key: " + err), std::nullopt;
  if (hint == Hint::written) {  // the writer's close, or a rename into place: complete
    open_writes_.erase(key);
    return parsed;
  }
  if (hint == Hint::created && info.nlink == 1) open_writes_.try_emplace(key, OpenWrite{info.id.inode, clock_.steady_now()});
  std::string why;
  switch (files_.probe(key, &why)) {
    case Admission::quiet:  // no lease possible: the recency rule, unless a writer's close is awaited
      if (awaiting_close(key, info)) return mark_busy(key), std::nullopt;
      [[fallthrough]];
    case Admission::complete:
      unmark_busy(key);
      return parsed;
    case Admission::busy:  // its close event, or its next look, brings it back
      mark_busy(key);
      return std::nullopt;
    case Admission::unreadable:
      record_ignored(key, info, "cannot read: " + why);
      [[fallthrough]];
    case Admission::gone:
      unmark_busy(key);
      return std::nullopt;
  }
  return std::nullopt;
}

// Issue 16 retest P14: inotify saw a writer create this file (IN_CREATE of a file with one link;
// a hard link has two or more) and its close (IN_CLOSE_WRITE) has not come. The recency rule
// admitted such a file while an uploader paused for more than kRecentWindow: it is not admitted
// before its close, for up to kAwaitCloseMax; then a warning, and the recency rule decides (its
// close event lost to an overflow, a log file never closed, a link whose other name was removed).
bool Pipeline::awaiting_close(const std::string& key, const FileInfo& info) {
  auto it = open_writes_.find(key);
  if (it == open_writes_.end()) return false;
  if (it->second.inode != info.id.inode) {  // another file at the key now, found by a scan
    open_writes_.erase(it);
    return false;
  }
  if (clock_.steady_now() - it->second.since < kAwaitCloseMax) return true;
  if (!it->second.warned) {
    it->second.warned = true;
    spdlog::warn("\"{}\": created by a writer {} min ago and not closed since (no IN_CLOSE_WRITE seen): from now "
                 "on it is admitted once unchanged for {} s, even if still open. A file written for that long "
                 "should be written under another name (name.part) and renamed when complete",
                 key, std::chrono::duration_cast<std::chrono::minutes>(kAwaitCloseMax).count(), kRecentWindow.count());
  }
  return false;
}

void Pipeline::offer_checked(const std::string& key, Hint hint, bool after_settle) {
  if (active_by_key_.count(key) || hashing_.count(key)) return;  // already being handled
  if (!after_settle && settling_.count(key)) return;              // its timer re-checks
  FileInfo info = files_.stat(key);
  auto parsed = classify(key, info, hint);
  if (!parsed) return;
  auto last = store_.last_object(key);
  if (known_and_left(last, info.id)) return;
  auto matched = match_rules(*rules_, *parsed);
  // A key only a batch rule matches (a group's `_SUCCESS` marker) is an object too: it joins its
  // group, runs nothing of its own and is archived.
  if (matched.empty() && match_batch_rules(*rules_, *parsed).empty()) return record_unmatched(key, info);

  // settle: wait until the file has been quiet for the longest settle of its rules.
  Duration quiet{0};
  for (const Rule* r : matched) quiet = std::max(quiet, r->settle);
  if (quiet.count() > 0 && !after_settle) return settle(key, hint, info, quiet);
  if (after_settle) settling_.erase(key);
  hash_then_admit(*parsed, info, std::move(last));
}

void Pipeline::record_unmatched(const std::string& key, const FileInfo& info) {
  if (!claimed(new_record(0, key, info.id, 0))) return;
  ObjectRecord o = new_record(store_.next_object_id(), key, info.id, clock_.now_ms());
  o.state = ObjectState::unmatched;
  record_new(o, {{"size", o.size}});
}

void Pipeline::settle(const std::string& key, Hint hint, const FileInfo& info, Duration quiet) {
  auto& s = settling_[key];
  s.size = info.id.size;
  s.mtime_ns = info.id.mtime_ns;
  s.timer = timers_.after(quiet, [this, key, hint, quiet] { on_settled(key, hint, quiet); });
}

// The settle timer fired: admit the file if it stayed the same, else wait another quiet period.
void Pipeline::on_settled(const std::string& key, Hint hint, Duration quiet) {
  auto it = settling_.find(key);
  if (it == settling_.end()) return;
  FileInfo now = files_.stat(key);
  if (!now.exists) {
    settling_.erase(it);
    return;
  }
  if (now.id.size != it->second.size || now.id.mtime_ns != it->second.mtime_ns) {
    it->second.size = now.id.size;  // still changing: wait again, then start over with fresh stats
    it->second.mtime_ns = now.id.mtime_ns;
    it->second.timer = timers_.after(quiet, [this, key, hint] {
      settling_.erase(key);
      offer(key, hint);
    });
    return;
  }
  offer_checked(key, hint, true);
}

// eTag: small files inline, big ones on the hash thread so the loop never stalls.
void Pipeline::hash_then_admit(const ObjectKey& key, const FileInfo& info, std::optional<ObjectRecord> last) {
  if (info.id.size <= kHashOffLoopBytes) {
    int err = 0;
    std::string error;
    auto h = files_.hash(key.key, &err, &error);
    return hashed(key, info, last, std::move(h), err, error);
  }
  hashing_.insert(key.key);
  boost::asio::post(hash_pool_, [this, key, info, last = std::move(last)]() mutable {
    int err = 0;
    std::string error;
    auto h = files_.hash(key.key, &err, &error);
    boost::asio::post(io_, [this, key, info, last = std::move(last), h = std::move(h), err, error]() mutable {
      hashing_.erase(key.key);
      hashed(key, info, last, std::move(h), err, error);
    });
  });
}

void Pipeline::hashed(const ObjectKey& key, const FileInfo& info, const std::optional<ObjectRecord>& last,
                      std::optional<Hashed> h, int err, const std::string& error) {
  if (h) return admit(key, *h, last);
  if (err == ENOENT || err == ENOTDIR || err == ELOOP) return;  // gone meanwhile
  // Changed while it was read, or not readable yet while it is still being copied (issue 16 N1): its
  // close event, or its next look, brings it back.
  if (err == EAGAIN || ((err == EACCES || err == EPERM) && changed_recently(info.id))) {
    mark_busy(key.key);
    return;
  }
  record_ignored(key.key, info, "cannot read: " + error);
}

void Pipeline::admit(const ObjectKey& key, const Hashed& h, const std::optional<ObjectRecord>& last) {
  auto matched = match_rules(*rules_, key);  // the rules may have changed while it was hashed
  if (active_by_key_.count(key.key) || (matched.empty() && match_batch_rules(*rules_, key).empty())) return;
  unmark_busy(key.key);
  if (metadata_changed(last, h)) return;
  ObjectRecord claim = new_record(0, key.key, h.id, 0);
  claim.etag = h.etag;  // another node's record of this file with another ctime is the same file if the eTag is (P9)
  if (!claimed(claim)) return;
  // The same content at the same key, already processed and archived — a re-upload, or the very
  // file back in landing after power loss undid its rename: recorded, moved, never re-run.
  bool archived_content = last && (last->state == ObjectState::archived || last->state == ObjectState::duplicate);
  SelfRewrites prior;  // the versions before it written by their own run (F22)
  if (auto it = self_rewrites_.find(key.key); it != self_rewrites_.end()) {
    prior = std::move(it->second);
    self_rewrites_.erase(it);
  }
  const bool same_content = archived_content && last->etag == h.etag && last->size == h.id.size;
  if (same_content && !(awaits_marker && awaits_marker(key))) {
    ObjectRecord rec = new_record(store_.next_object_id(), key.key, h.id, clock_.now_ms());
    rec.etag = h.etag;
    return admit_duplicate(rec, *last);
  }
  if (prior.generations >= kSelfRewriteLimit) return admit_looping(key, h, matched, prior.rules, prior.generations);
  start_object(key, h, matched, nullptr, prior.generations);
}

std::unique_ptr<Pipeline::Active> Pipeline::new_arrival(const ObjectKey& key, const Hashed& h) {
  auto a = std::make_unique<Active>();
  a->rec = new_record(store_.next_object_id(), key.key, h.id, clock_.now_ms());
  a->rec.etag = h.etag;
  a->key = key;
  a->path = files_.path(Area::landing, key.key);
  a->ruleset = rules_;
  a->mode = h.mode;
  return a;
}

void Pipeline::admit_looping(const ObjectKey& key, const Hashed& h, const std::vector<const Rule*>& matched,
                             const std::vector<std::string>& writers, int generations) {
  auto a = new_arrival(key, h);
  a->rec.state = ObjectState::pending;
  a->self_rewrites = generations;
  a->loop_rules = writers;
  if (a->loop_rules.empty())
    for (const Rule* r : matched) a->loop_rules.push_back(r->name);
  std::string names;
  for (const auto& n : a->loop_rules) names += (names.empty() ? "" : ", ") + n;
  a->failure_reason = "the job of " + names + " rewrote its own input " + std::to_string(generations) +
                      " times in a row (each write during its run made a new version, which ran again); this version "
                      "is quarantined, not run";
  record_new(a->rec, {{"size", a->rec.size}, {"etag", a->rec.etag}, {"sequencer", a->rec.sequencer}, {"rules", a->loop_rules}});
  emit("object.loop_detected", key.key,
       {{"object", a->rec.id}, {"generations", generations}, {"rules", a->loop_rules}, {"reason", a->failure_reason}});
  for (const auto& n : a->loop_rules) stats_.m.object_loops.labels({n}).inc();
  spdlog::warn("{}: the job of rule {} rewrote its own input {} times in a row; object {} (the last version) is "
               "quarantined, not run: a job must not write to its input (write to another key or folder)",
               key.key, names, generations, a->rec.id);
  a->decided = true;
  a->rec.action = action::quarantine;
  transition(a->rec, ObjectState::failed,
             {{"outcome", "failed"}, {"action", action::quarantine}, {"reason", a->failure_reason}});
  const int64_t id = a->rec.id;
  active_by_key_[key.key] = id;
  active_.emplace(id, std::move(a));
  ++finishing_;
  batch_.after_commit([this, id] { apply_final_action(id); });
}

void Pipeline::start_object(const ObjectKey& key, const Hashed& h, const std::vector<const Rule*>& matched,
                            const ReplayOrigin* replay, int self_rewrites) {
  auto a = new_arrival(key, h);
  ObjectRecord& rec = a->rec;
  a->self_rewrites = self_rewrites;
  if (replay) a->quarantined_original = replay->quarantined;
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
  record_new(a->rec, {{"size", a->rec.size}, {"etag", a->rec.etag}, {"sequencer", a->rec.sequencer}, {"rules", rule_names}});
  if (replay)
    emit("object.replayed", key.key,
         {{"of_object", replay->of_object}, {"object", a->rec.id}, {"from", replay->from}, {"rules", rule_names},
          {"retry", replay->retry}});
  Active& ref = *a;
  active_by_key_[key.key] = ref.rec.id;
  active_.emplace(ref.rec.id, std::move(a));
  admit_tasks(ref);  // queued, or waiting for what after:/requires: name
  if (on_admitted) on_admitted(ref.rec, key, matched);
  if (ref.tasks.empty()) maybe_finish(ref.rec.id);  // only batch rules matched: nothing to run
  pump();
}

// A duplicate is decided at once (archive, without a run) and moved like any decided object.
void Pipeline::admit_duplicate(ObjectRecord rec, const ObjectRecord& of) {
  rec.state = ObjectState::duplicate;
  rec.action = action::duplicate;
  record_new(rec, {{"etag", rec.etag}, {"of_object", of.id}, {"size", rec.size}});
  auto a = std::make_unique<Active>();
  a->rec = std::move(rec);
  a->key.key = a->rec.key;
  a->path = files_.path(Area::landing, a->rec.key);
  a->decided = true;
  const int64_t id = a->rec.id;
  active_by_key_[a->rec.key] = id;
  active_.emplace(id, std::move(a));
  ++finishing_;
  batch_.after_commit([this, id] { apply_final_action(id); });
}

bool Pipeline::claimed(const ObjectRecord& rec) {
  const auto claim = store_.claim_object(rec);
  if (claim != Store::Claim::mine) batch_.request();  // the claim opened the batch (and holds the key's lock): it commits this turn
  switch (claim) {
    case Store::Claim::mine:
      return true;
    case Store::Claim::taken:  // another node recorded this very file first: it is that node's
      unmark_busy(rec.key);
      return false;
    case Store::Claim::busy: {
      const std::string key = rec.key;
      claim_retries_[key] = timers_.after(std::chrono::milliseconds(100), [this, key] {
        claim_retries_.erase(key);
        offer(key, Hint::scanned);
      });
      return false;
    }
  }
  return false;
}

// Issue 10 (trust under faults): a file the scan of a new folder found changed within the last
// two seconds, written by another user (no lease), was left "for its close event" — which had
// come before the folder was watched — and sat in landing until the next reconcile (10 minutes).
void Pipeline::mark_busy(const std::string& key) {
  busy_.insert(key);
  if (busy_rechecks_.count(key)) return;  // its next look is already due
  busy_rechecks_[key] = timers_.after(kRecentWindow, [this, key] {
    busy_rechecks_.erase(key);
    if (!busy_.count(key)) return;
    offer(key, Hint::scanned);
    if (busy_.count(key)) mark_busy(key);  // still not admitted (or not looked at: the store is down)
  });
}

void Pipeline::unmark_busy(const std::string& key) {
  open_writes_.erase(key);
  busy_.erase(key);
  busy_rechecks_.erase(key);
}

void Pipeline::forget_busy() {
  open_writes_.clear();
  busy_.clear();
  busy_rechecks_.clear();
}

std::vector<std::string> Pipeline::keys_in_discovery() const {
  std::vector<std::string> out(hashing_.begin(), hashing_.end());
  for (const auto& [key, s] : settling_) out.push_back(key);
  out.insert(out.end(), busy_.begin(), busy_.end());  // still being written
  return out;
}

}  // namespace hivehook
