#include "rules/yaml_reader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace hivehook {

namespace {
// yaml-cpp's parser recurses once per nesting level; a pathological "[[[[..." would overflow the
// stack long before any real config gets close, so refuse deep nesting up front.
constexpr int kMaxDepth = 64;

bool too_deep(const std::string& text) {
  int depth = 0;
  for (char c : text) {
    if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}
}  // namespace

std::optional<YAML::Node> read_yaml_file(const std::filesystem::path& file, const std::string& display,
                                         Diagnostics& diags) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    diags.error(display, 0, 0, std::string("cannot read: ") + std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  if (too_deep(text)) {
    diags.error(display, 0, 0, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    return std::nullopt;
  }
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    if (docs.empty()) return YAML::Node(YAML::NodeType::Null);
    if (docs.size() > 1) {
      diags.error(display, 0, 0, "more than one YAML document ('---'); put everything in one");
      return std::nullopt;
    }
    return docs.front();
  } catch (const YAML::Exception& e) {
    int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    int col = e.mark.column >= 0 ? e.mark.column + 1 : 0;
    diags.error(display, line, col, "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
}

}  // namespace hivehook
