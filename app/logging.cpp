#include "app/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace hivehook {

namespace {
// %j: the message as a JSON string (quotes, control characters and invalid UTF-8 escaped).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string s = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

// "<N>", the syslog priority of a level (RFC 5424 severities: 2 critical, 3 error, 4 warning,
// 6 info, 7 debug), as journald reads it at the start of a line (sd-daemon(3)).
void append_priority(spdlog::level::level_enum level, spdlog::memory_buf_t& dest) {
  char p = '6';
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: p = '7'; break;
    case spdlog::level::warn: p = '4'; break;
    case spdlog::level::err: p = '3'; break;
    case spdlog::level::critical: p = '2'; break;
    default: break;
  }
  const char prefix[3] = {'<', p, '>'};
  dest.append(prefix, prefix + 3);
}

// %N: the priority prefix.
class PriorityPrefixFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    append_priority(msg.level, dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PriorityPrefixFlag>(); }
};

// %V: the message, each line after the first prefixed with the priority too: journald makes
// every line its own entry, and a multi-line error must stay an error on every line.
class JournalMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* p = msg.payload.data();
    const char* end = p + msg.payload.size();
    while (p < end) {
      const char* nl = std::find(p, end, '\n');
      dest.append(p, nl);
      if (nl == end) break;
      dest.push_back('\n');
      append_priority(msg.level, dest);
      p = nl + 1;
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JournalMessageFlag>(); }
};
}  // namespace

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st{};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

void setup_logging(const LogConfig& log) {
  auto logger = spdlog::get("hivehook");
  if (!logger) logger = spdlog::stderr_color_mt("hivehook");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log.level));
  const bool journal = stderr_is_journal();
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<JsonMessageFlag>('j');
  f->add_flag<PriorityPrefixFlag>('N');
  f->add_flag<JournalMessageFlag>('V');
  if (log.format == "json") {
    f->set_pattern(std::string(journal ? "%N" : "") +
                   R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","pid":%P,"msg":%j})");
    spdlog::set_formatter(std::move(f));
  } else if (journal) {
    f->set_pattern("%N%V");  // journald stamps the time and the pid
    spdlog::set_formatter(std::move(f));
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
}

}  // namespace hivehook
