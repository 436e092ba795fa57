#include "csv_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace hivehook::gen {

namespace {
constexpr std::size_t kFlushAt = 4 << 20;

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}
}  // namespace

void make_dirs(const std::string& path) {
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      std::string part = path.substr(0, i);
      if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) throw sys_error("mkdir " + part);
    }
  }
}

CsvFileWriter::CsvFileWriter(const std::string& dir, const std::string& name, bool crlf)
    : tmp_(dir + "/." + name + ".tmp"), final_(dir + "/" + name), crlf_(crlf) {
  make_dirs(dir);
  fd_.reset(::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd_) throw sys_error("create " + tmp_);
  buf_.reserve(kFlushAt + 65536);
}

CsvFileWriter::~CsvFileWriter() {
  if (!committed_) ::unlink(tmp_.c_str());
}

void CsvFileWriter::raw(std::string_view bytes) {
  buf_.append(bytes);
}

void CsvFileWriter::field(std::string_view value, bool first) {
  if (value.find_first_of(",\"\r\n") != std::string_view::npos) return quoted(value, first);
  if (!first) buf_ += ',';
  buf_.append(value);
}

void CsvFileWriter::quoted(std::string_view value, bool first) {
  if (!first) buf_ += ',';
  buf_ += '"';
  for (char c : value) {
    if (c == '"') buf_ += '"';
    buf_ += c;
  }
  buf_ += '"';
}

void CsvFileWriter::end_line() {
  buf_.append(crlf_ ? "\r\n" : "\n");
  if (buf_.size() >= kFlushAt) flush();
}

void CsvFileWriter::flush() {
  // Keep the tail line end buffered so commit(false) can still drop it.
  std::size_t keep = crlf_ ? 2 : 1;
  if (buf_.size() <= keep) return;
  std::size_t n = buf_.size() - keep;
  const char* p = buf_.data();
  while (n > 0) {
    ssize_t w = ::write(fd_.get(), p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw sys_error("write " + tmp_);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  buf_.erase(0, buf_.size() - keep);
}

void CsvFileWriter::commit(bool final_newline) {
  if (!final_newline) {
    if (buf_.ends_with("\r\n")) buf_.resize(buf_.size() - 2);
    else if (buf_.ends_with("\n")) buf_.resize(buf_.size() - 1);
  }
  // Write what is left.
  const char* p = buf_.data();
  std::size_t n = buf_.size();
  while (n > 0) {
    ssize_t w = ::write(fd_.get(), p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw sys_error("write " + tmp_);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  buf_.clear();
  fd_.reset();
  if (::rename(tmp_.c_str(), final_.c_str()) != 0) throw sys_error("rename " + tmp_);
  committed_ = true;
}

}  // namespace hivehook::gen
