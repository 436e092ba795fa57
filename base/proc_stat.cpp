#include "base/proc_stat.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/unique_fd.h"

namespace hivehook {

std::optional<ProcStat> read_proc_stat(int pid) {
  if (pid <= 0) return std::nullopt;
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  std::string text(buf, static_cast<size_t>(n));
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and ')', so parse after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
  ProcStat st;
  st.pid = pid;
  st.state = text[close + 2];
  const char* p = text.c_str() + close + 2;
  for (int field = 3; field <= 22 && *p; ++field) {
    char* end = nullptr;
    if (field == 5) st.pgrp = static_cast<int>(std::strtol(p, &end, 10));
    if (field == 22) st.start_time = std::strtoull(p, &end, 10);
    while (*p && *p != ' ') ++p;  // next field
    while (*p == ' ') ++p;
  }
  return st;
}

}  // namespace hivehook
