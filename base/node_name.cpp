#include "base/node_name.h"

#include <unistd.h>

#include <climits>

namespace hivehook {

namespace {
bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}
}  // namespace

bool valid_node_name(const std::string& name) {
  if (name.empty() || name.size() > 63 || name[0] == '.' || name[0] == '-' || name[0] == '_') return false;
  for (char c : name)
    if (!name_char(c)) return false;
  return true;
}

std::string default_node_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "node";
  std::string s(buf);
  if (s.size() > 63) s.resize(63);
  for (char& c : s)
    if (!name_char(c)) c = '-';
  if (!valid_node_name(s)) s = "node-" + s.substr(0, 58);
  return valid_node_name(s) ? s : "node";
}

}  // namespace hivehook
