#include "store/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "store/store.h"

#include <spdlog/spdlog.h>

namespace hivehook {

namespace {

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

// Reads the id of the last complete line, cutting a torn tail. Reads only the end of the file.
int64_t repair_tail(int fd) {
  struct stat st{};
  if (::fstat(fd, &st) != 0 || st.st_size == 0) return 0;
  off_t size = st.st_size;
  off_t window = std::min<off_t>(size, 1 << 20);
  std::string buf(static_cast<size_t>(window), '\0');
  if (::pread(fd, buf.data(), buf.size(), size - window) != window) return 0;
  size_t end = buf.size();
  if (buf.back() != '\n') {
    size_t nl = buf.rfind('\n');
    off_t keep = nl == std::string::npos ? size - window : size - window + static_cast<off_t>(nl) + 1;
    if (::ftruncate(fd, keep) != 0) throw std::runtime_error("cannot repair audit log tail");
    end = nl == std::string::npos ? 0 : nl + 1;
  }
  if (end == 0) return 0;
  size_t start = buf.rfind('\n', end - 2);
  start = start == std::string::npos ? 0 : start + 1;
  auto j = nlohmann::json::parse(buf.substr(start, end - start), nullptr, false);
  if (j.is_object() && j.contains("id") && j["id"].is_number_integer()) return j["id"].get<int64_t>();
  return 0;
}

}  // namespace

AuditLog::AuditLog(const std::filesystem::path& path, Store& store) : path_(path), store_(store) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd_) throw std::runtime_error("cannot open audit log " + path.string() + ": " + std::strerror(errno));
  last_id_ = repair_tail(fd_.get());
  catch_up();  // events committed after the last mirrored line
}

// Everything the store holds after the last mirrored line.
void AuditLog::catch_up() {
  for (;;) {
    auto events = store_.events_after(last_id_, 5000, /*mine=*/true);  // a node mirrors its own
    if (events.empty()) break;
    write_lines(events);
  }
  behind_ = false;
}

void AuditLog::write_lines(const std::vector<AuditEvent>& events) {
  std::string out;
  out.reserve(events.size() * 160);
  for (const auto& e : events)
    if (e.id > last_id_) out += e.to_line();
  if (out.empty()) return;
  write_all(fd_.get(), out);
  last_id_ = events.back().id;
}

void AuditLog::append(const std::vector<AuditEvent>& events) {
  if (events.empty()) return;
  try {
    if (behind_) catch_up();
    else write_lines(events);
  } catch (const std::runtime_error& e) {
    if (!behind_) spdlog::error("{} ({}): caught up from the store once writes succeed", e.what(), path_.string());
    behind_ = true;
    try {  // cut a partly written line, so the next append starts on a line of its own
      last_id_ = repair_tail(fd_.get());
    } catch (const std::runtime_error&) {
    }
  }
}

}  // namespace hivehook
