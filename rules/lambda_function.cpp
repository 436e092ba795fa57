// Runtime identifiers and handler strings of Lambda functions (see lambda_function.h).
#include "rules/lambda_function.h"

#include <algorithm>
#include <vector>

namespace hivehook {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_identifier(std::string_view s) {
  if (s.empty() || is_digit(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) ||
           static_cast<unsigned char>(c) >= 0x80;  // Python identifiers may be non-ASCII
  });
}
bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

// Splits on any of `seps`, keeping empty pieces.
std::vector<std::string_view> split(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find_first_of(seps, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// AWS's Node.js runtime: the module is everything up to the first '.' after the last '/'.
std::pair<std::string_view, std::string_view> split_node_handler(std::string_view handler) {
  size_t slash = handler.rfind('/');
  size_t dot = handler.find('.', slash == std::string_view::npos ? 0 : slash + 1);
  if (dot == std::string_view::npos) return {handler, {}};
  return {handler.substr(0, dot), handler.substr(dot + 1)};
}

}  // namespace

std::optional<LambdaRuntimeFamily> lambda_runtime_family(std::string_view r) {
  if (r == "python3") return LambdaRuntimeFamily::python;
  if (r.starts_with("python3.") && all_digits(r.substr(8))) return LambdaRuntimeFamily::python;
  if (r == "nodejs") return LambdaRuntimeFamily::nodejs;
  if (r.starts_with("nodejs") && r.ends_with(".x") && all_digits(r.substr(6, r.size() - 8)))
    return LambdaRuntimeFamily::nodejs;
  if (r == "provided" || r == "provided.al2023" || r == "provided.al2") return LambdaRuntimeFamily::provided;
  return std::nullopt;
}

std::optional<std::string> lambda_handler_problem(LambdaRuntimeFamily family, std::string_view handler) {
  const std::string h(handler);
  if (handler.empty()) return "'handler' is empty";
  switch (family) {
    case LambdaRuntimeFamily::provided:
      return std::nullopt;
    case LambdaRuntimeFamily::python: {
      size_t dot = handler.rfind('.');
      const std::string example = " (e.g. app.handler or src/hello_world/app.lambda_handler)";
      if (dot == std::string_view::npos || dot == 0)
        return "'handler' must be 'module.function'" + example + ", not '" + h + "'";
      if (!is_identifier(handler.substr(dot + 1)))
        return "the function in handler '" + h + "' must be a Python identifier" + example;
      for (auto part : split(handler.substr(0, dot), "./"))
        if (!is_identifier(part))
          return "the module in handler '" + h + "' must be Python identifiers joined by '.' or '/'" + example;
      return std::nullopt;
    }
    case LambdaRuntimeFamily::nodejs: {
      auto [module, function] = split_node_handler(handler);
      const std::string example = " (e.g. index.handler or src/app.handler)";
      if (function.empty() || module.empty() || module.back() == '/')
        return "'handler' must be 'file.function'" + example + ", not '" + h + "'";
      if (module.front() == '/') return "the file in handler '" + h + "' must be relative to 'code'";
      for (auto part : split(module, "/"))
        if (part.empty() || part == "..") return "the file in handler '" + h + "' must stay inside 'code'";
      for (auto part : split(function, "."))
        if (part.empty()) return "the function in handler '" + h + "' has an empty name" + example;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string lambda_handler_module_path(LambdaRuntimeFamily family, std::string_view handler) {
  switch (family) {
    case LambdaRuntimeFamily::python: {
      std::string module(handler.substr(0, handler.rfind('.')));
      std::replace(module.begin(), module.end(), '.', '/');
      return module;
    }
    case LambdaRuntimeFamily::nodejs:
      return std::string(split_node_handler(handler).first);
    case LambdaRuntimeFamily::provided:
      return {};
  }
  return {};
}

}  // namespace hivehook
