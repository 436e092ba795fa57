#include "store/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "store/sql.h"
#include "store/store.h"

#include <spdlog/spdlog.h>

namespace hivehook {

namespace {

constexpr int kReadBatch = 5000;

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("audit log write failed: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
}

// Cuts a torn last line and returns the ids of the complete lines in the file's last MiB (a line
// appended late, below the highest id, is among them: the caller takes their maximum).
std::vector<int64_t> repair_tail(int fd) {
  struct stat st{};
  if (::fstat(fd, &st) != 0 || st.st_size == 0) return {};
  off_t size = st.st_size;
  off_t window = std::min<off_t>(size, 1 << 20);
  std::string buf(static_cast<size_t>(window), '\0');
  if (::pread(fd, buf.data(), buf.size(), size - window) != window) return {};
  size_t end = buf.size();
  if (buf.back() != '\n') {
    size_t nl = buf.rfind('\n');
    off_t keep = nl == std::string::npos ? size - window : size - window + static_cast<off_t>(nl) + 1;
    if (::ftruncate(fd, keep) != 0) throw std::runtime_error("cannot repair audit log tail");
    end = nl == std::string::npos ? 0 : nl + 1;
  }
  std::vector<int64_t> ids;
  size_t start = 0;
  if (window < size) {  // the window starts inside a line: skip it
    size_t nl = buf.find('\n');
    start = nl == std::string::npos ? end : nl + 1;
  }
  while (start < end) {
    size_t nl = buf.find('\n', start);
    auto j = nlohmann::json::parse(buf.substr(start, nl - start), nullptr, false);
    if (j.is_object() && j.contains("id") && j["id"].is_number_integer()) ids.push_back(j["id"].get<int64_t>());
    start = nl + 1;
  }
  return ids;
}

}  // namespace

AuditLog::AuditLog(const std::filesystem::path& path, Store& store) : path_(path), store_(store) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd_) throw std::runtime_error("cannot open audit log " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  // An empty file is a new one (rotated away, or audit_log just set): it starts with the next event.
  if (::fstat(fd_.get(), &st) == 0 && st.st_size == 0) last_id_ = floor_ = store_.last_event_id();
  else take_tail(repair_tail(fd_.get()));
  catch_up();  // events committed after the last mirrored line, and missed ones among the last lines
}

// The file's last lines are the ids known mirrored: events of the table among them that the file
// lacks (an earlier incarnation missed them) are appended by fill_gaps().
void AuditLog::take_tail(const std::vector<int64_t>& ids) {
  if (ids.empty()) return;
  last_id_ = *std::max_element(ids.begin(), ids.end());
  floor_ = *std::min_element(ids.begin(), ids.end()) - 1;
  mirrored_ = std::set<int64_t>(ids.begin(), ids.end());
  marks_.clear();
  marks_.emplace_back(Clock::now(), last_id_);
}

AuditLog::~AuditLog() {
  try {
    fill_gaps();
  } catch (const std::exception& e) {
    spdlog::debug("audit log {}: last look for late events failed: {}", path_.string(), e.what());
  }
}

bool AuditLog::reopen() {
  UniqueFd fresh(::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fresh) throw std::runtime_error("cannot reopen audit log " + path_.string() + ": " + std::strerror(errno));
  struct stat now {}, open_one {};
  if (::fstat(fresh.get(), &now) == 0 && ::fstat(fd_.get(), &open_one) == 0 && now.st_dev == open_one.st_dev &&
      now.st_ino == open_one.st_ino)
    return false;  // the same file: nothing rotated
  // An empty file continues from the next event (the ids written to the old one stay mirrored);
  // a file with events (moved back) catches up what it lacks.
  std::vector<int64_t> ids;
  if (now.st_size > 0) ids = repair_tail(fresh.get());
  fd_ = std::move(fresh);
  if (!ids.empty()) {
    take_tail(ids);
    behind_ = true;
  }
  if (behind_) catch_up();
  return true;
}

// Everything the store holds after the last mirrored line, and what became visible below it.
void AuditLog::catch_up() {
  for (;;) {
    auto events = store_.events_after(last_id_, kReadBatch, /*mine=*/true);  // a node mirrors its own
    if (events.empty()) break;
    write_lines(events);
  }
  fill_gaps();
  behind_ = false;
}

// Writes the events not in the file yet: above the high-water mark, or below it within the window
// and not mirrored. One write; the bookkeeping follows only a complete write.
void AuditLog::write_lines(const std::vector<AuditEvent>& events) {
  std::string out;
  out.reserve(events.size() * 160);
  std::vector<int64_t> written;
  for (const auto& e : events) {
    // Every id above the floor that is in the file is in mirrored_; ids at or below it are settled.
    if (e.id <= floor_ || mirrored_.count(e.id) || (!written.empty() && e.id <= written.back())) continue;
    out += e.to_line();
    written.push_back(e.id);
  }
  if (out.empty()) return;
  write_all(fd_.get(), out);
  for (int64_t id : written) {
    mirrored_.insert(id);
    last_id_ = std::max(last_id_, id);
  }
  marks_.emplace_back(Clock::now(), last_id_);
}

// A commit's events, after those committed before them and never appended (ids between the
// high-water mark and the commit's first id that are this node's: a commit reported failed that
// happened, or a previous incarnation's last commit).
void AuditLog::write_new(const std::vector<AuditEvent>& events) {
  const int64_t first = events.front().id;
  while (first > last_id_ + 1) {
    auto earlier = store_.events_between(last_id_, first - 1, kReadBatch, /*mine=*/true);
    if (earlier.empty()) break;
    write_lines(earlier);
    if (static_cast<int>(earlier.size()) < kReadBatch) break;
  }
  write_lines(events);
}

// Ids below the floor are no longer looked for: the floor follows the high-water mark kGapWindow late.
void AuditLog::advance_floor(Clock::time_point now) {
  while (!marks_.empty() && marks_.front().first + kGapWindow <= now) {
    floor_ = std::max(floor_, marks_.front().second);
    marks_.pop_front();
  }
  mirrored_.erase(mirrored_.begin(), mirrored_.upper_bound(floor_));
}

void AuditLog::fill_gaps() {
  const auto now = Clock::now();
  next_look_ = now + kGapLookEvery;
  advance_floor(now);
  if (floor_ >= last_id_) return;
  // One count says whether anything appeared: the ids in (floor_, last_id_] in the file are mirrored_.
  if (store_.count_events_between(floor_, last_id_, /*mine=*/true) <= static_cast<int64_t>(mirrored_.size())) return;
  int64_t after = floor_;
  for (;;) {
    auto events = store_.events_between(after, last_id_, kReadBatch, /*mine=*/true);
    if (events.empty()) break;
    after = events.back().id;
    const size_t before = mirrored_.size();
    write_lines(events);
    if (mirrored_.size() != before)
      spdlog::info("audit log {}: {} event(s) committed late, appended below id {}", path_.string(),
                   mirrored_.size() - before, last_id_);
    if (static_cast<int>(events.size()) < kReadBatch) break;
  }
}

void AuditLog::append(const std::vector<AuditEvent>& events) {
  try {
    if (behind_) catch_up();
    else if (!events.empty()) write_new(events);
    if (Clock::now() >= next_look_) fill_gaps();
  } catch (const std::runtime_error& e) {  // sql::StoreError is one too: the store is looked at again later
    if (!behind_) spdlog::error("{} ({}): caught up from the store once writes succeed", e.what(), path_.string());
    behind_ = true;
    try {  // cut a partly written line, so the next append starts on a line of its own
      for (int64_t id : repair_tail(fd_.get())) {
        if (id <= floor_) continue;
        mirrored_.insert(id);
        last_id_ = std::max(last_id_, id);
      }
    } catch (const std::runtime_error&) {
    }
  }
}

}  // namespace hivehook
