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
// yaml-cpp 0.7 loops forever (allocating) on a ',' that starts a node in block context: where a
// document's root should start (",", "&a ,", "--- ,"), or first on a line that closes blocks
// ("- a\n,", "- x: 1\n  , y: 2"); found by fuzz_rules. In block context such a line is invalid
// (or at best a plain scalar continuation, which quoting fixes), so refuse it before the parser
// sees it. Block scalar (| and >) content is skipped. Returns the 1-based line and column.
bool opens_block_scalar(std::string_view line) {
  size_t hash = line.find(" #");
  if (hash != std::string_view::npos) line = line.substr(0, hash);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
  while (!line.empty() && (line.back() == '+' || line.back() == '-' || (line.back() >= '0' && line.back() <= '9')))
    line.remove_suffix(1);
  if (line.empty() || (line.back() != '|' && line.back() != '>')) return false;
  line.remove_suffix(1);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  return line.empty() || line.back() == ':' || line.back() == '-' || line == "---";
}

// Tracks open flow collections over one line, skipping quoted scalars and comments.
void count_flow_depth(std::string_view line, int& depth, char& quote) {
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (quote == '"' && c == '\\') ++i;
      else if (c == quote && quote == '\'' && i + 1 < line.size() && line[i + 1] == '\'') ++i;
      else if (c == quote) quote = 0;
      continue;
    }
    bool token_start = i == 0 || std::string_view(" \t[{,:-?").find(line[i - 1]) != std::string_view::npos;
    if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) return;  // a comment
    if ((c == '"' || c == '\'') && token_start) quote = c;
    else if (c == '[' || c == '{') ++depth;
    else if ((c == ']' || c == '}') && depth > 0) --depth;
  }
}

std::optional<std::pair<int, int>> stray_comma(const std::string& text) {
  bool doc_start = true;
  int depth = 0;               // flow collections open ([ and {)
  int block_scalar = -1;       // indentation of the line that opened a block scalar, or -1
  char quote = 0;              // inside a quoted scalar spanning lines
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    size_t indent = line.find_first_not_of(" \t\r");
    if (quote) {  // a quoted scalar continues from an earlier line
      count_flow_depth(line, depth, quote);
      continue;
    }
    if (block_scalar >= 0) {
      if (indent == std::string_view::npos || int(indent) > block_scalar) continue;
      block_scalar = -1;
    }
    if (indent == std::string_view::npos) continue;
    if (depth == 0 && line[indent] == ',') return std::make_pair(line_no, int(indent) + 1);
    size_t i = indent;
    if (line.substr(0, 3) == "---" || line.substr(0, 3) == "...") {
      doc_start = true;
      i = 3;
    }
    if (doc_start && line[0] != '%') {
      for (;;) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
        if (i < line.size() && (line[i] == '&' || line[i] == '!')) {  // node properties
          while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != ',') ++i;
          continue;
        }
        break;
      }
      if (i < line.size() && line[i] == ',') return std::make_pair(line_no, int(i) + 1);
      if (i < line.size() && line[i] != '#') doc_start = false;
    }
    count_flow_depth(line, depth, quote);
    if (depth == 0 && opens_block_scalar(line)) block_scalar = int(indent);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> read_text_file(const std::filesystem::path& file, const std::string& display,
                                          Diagnostics& diags) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    diags.error(display, 0, 0, std::string("cannot read: ") + std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::optional<YAML::Node> read_yaml_file(const std::filesystem::path& file, const std::string& display,
                                         Diagnostics& diags) {
  auto text = read_text_file(file, display, diags);
  if (!text) return std::nullopt;
  return parse_yaml_text(*text, display, diags);
}

std::optional<YAML::Node> parse_yaml_text(const std::string& text, const std::string& display, Diagnostics& diags) {
  if (too_deep(text)) {
    diags.error(display, 0, 0, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    return std::nullopt;
  }
  if (auto at = stray_comma(text)) {
    diags.error(display, at->first, at->second, "YAML syntax error: unexpected ','");
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
