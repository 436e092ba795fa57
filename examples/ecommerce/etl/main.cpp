// hivehook-etl: the e-commerce example's job. See examples/ecommerce/README.md.
#include <cstdio>
#include <clocale>
#include <cstdlib>
#include <cwchar>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <wchar.h>  // wcwidth (POSIX)

#include "etl/job.h"
#include "etl/warehouse.h"

namespace {

using namespace hivehook::etl;

constexpr const char* kUsage =
    "usage: hivehook-etl dims FILE --warehouse W [--key KEY]\n"
    "       hivehook-etl transactions FILE --warehouse W [--key KEY]\n"
    "       hivehook-etl report --warehouse W SQL_FILE...\n"
    "       hivehook-etl summary --warehouse W --date YYYY-MM-DD\n"
    "W is sqlite:PATH or postgresql://USER@HOST:PORT/DB.\n"
    "The stored source_file is --key, else $HIVEHOOK_KEY, else FILE as given.\n"
    "A result JSON goes to $HIVEHOOK_RESULT when set.\n"
    "Exit: 0 ok, 65 bad input file, 75 dimensions not loaded yet (retry), 1 other errors.\n";

int usage_error(const std::string& msg) {
  std::cerr << "hivehook-etl: " << msg << "\n" << kUsage;
  return kExitUsage;
}

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

void write_result(const nlohmann::json& result) {
  const char* path = std::getenv("HIVEHOOK_RESULT");
  if (!path || !*path) return;
  std::ofstream out(path, std::ios::trunc);
  out << result.dump() << "\n";
  if (!out) std::cerr << "hivehook-etl: cannot write the result to " << path << "\n";
}

// A cell on one line: line breaks and tabs shown as escapes.
std::string printable(const std::optional<std::string>& v) {
  if (!v) return "NULL";
  std::string out;
  for (char c : *v) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  return out;
}

// Columns on a terminal: wcwidth(3) of each character (East Asian wide ones take 2, combining
// marks 0), decoded as UTF-8 whatever the caller's locale; an undecodable byte counts as 1.
std::size_t display_width(const std::string& s) {
  static const bool utf8 = std::setlocale(LC_CTYPE, "C.UTF-8") != nullptr;
  std::size_t n = 0;
  std::mbstate_t st{};
  for (std::size_t i = 0; i < s.size();) {
    wchar_t wc;
    std::size_t len = utf8 ? std::mbrtowc(&wc, s.data() + i, s.size() - i, &st) : static_cast<std::size_t>(-1);
    if (len == 0 || len > s.size() - i) {  // NUL, invalid or truncated: one column per byte
      st = {};
      n += 1;
      i += 1;
      continue;
    }
    int w = ::wcwidth(wc);
    n += w < 0 ? 1 : static_cast<std::size_t>(w);
    i += len;
  }
  return n;
}

// Prints a query result as an aligned text table.
void print_table(const QueryResult& r) {
  std::vector<std::size_t> width(r.columns.size());
  for (std::size_t j = 0; j < r.columns.size(); ++j) width[j] = display_width(r.columns[j]);
  for (const auto& row : r.rows)
    for (std::size_t j = 0; j < row.size(); ++j)
      width[j] = std::max(width[j], display_width(printable(row[j])));
  auto line = [&](auto cell) {
    std::string s;
    for (std::size_t j = 0; j < width.size(); ++j) {
      std::string v = cell(j);
      std::size_t w = display_width(v);
      s += (j ? " | " : "") + v + std::string(width[j] - std::min(width[j], w), ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::cout << s << "\n";
  };
  line([&](std::size_t j) { return r.columns[j]; });
  line([&](std::size_t j) { return std::string(width[j], '-'); });
  for (const auto& row : r.rows) line([&](std::size_t j) { return printable(row[j]); });
  std::cout << "(" << r.rows.size() << " rows)\n";
}

int run_report(const std::string& warehouse, const std::vector<std::string>& files) {
  try {
    auto wh = open_warehouse(warehouse);
    for (const auto& f : files) {
      std::ifstream in(f);
      if (!in) {
        std::cerr << "hivehook-etl: cannot read " << f << "\n";
        return kExitFailure;
      }
      std::stringstream sql;
      sql << in.rdbuf();
      std::cout << "== " << f << "\n";
      print_table(wh->query(sql.str()));
      std::cout << "\n";
    }
    return kExitOk;
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    std::cerr << "hivehook-etl: " << e.what() << "\n";
    return kExitFailure;
  }
}

// A date as the warehouse stores transaction_date: YYYY-MM-DD, digits only (it goes into the SQL).
bool is_iso_date(const std::string& d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i = 0; i < d.size(); ++i)
    if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9')) return false;
  return true;
}

// One day's summary of the loaded facts (cancelled and refunded transactions excluded, as in
// sql/03_monthly_revenue.sql): transactions, customers, units, revenue. Printed as a table and
// written as the result JSON (kept with the run: `hivehook runs --rule daily-summary`). The batch
// rule `daily-summary` runs it once a day's files are all loaded.
int run_summary(const std::string& warehouse, const std::string& date) {
  if (!is_iso_date(date)) return usage_error("--date must be YYYY-MM-DD, not '" + date + "'");
  try {
    auto wh = open_warehouse(warehouse);
    QueryResult r = wh->query(
        "SELECT COUNT(*) AS transactions, COUNT(DISTINCT customer_id) AS customers,"
        " COALESCE(SUM(quantity), 0) AS units,"
        " CAST(COALESCE(SUM(CAST(REPLACE(CAST(amount AS TEXT), '.', '') AS BIGINT)), 0) AS BIGINT) AS revenue_cents"
        " FROM fact_transactions WHERE CAST(transaction_date AS TEXT) = '" + date + "'"
        " AND status NOT IN ('cancelled', 'refunded')");
    if (r.rows.size() != 1 || r.rows[0].size() != 4) throw std::runtime_error("the summary query returned no row");
    auto num = [&](std::size_t j) { return std::stoll(r.rows[0][j].value_or("0")); };
    const long long cents = num(3);
    char revenue[32];
    std::snprintf(revenue, sizeof revenue, "%lld.%02lld", cents / 100, cents % 100);
    std::cout << "== daily summary " << date << "\n";
    print_table({{"date", "transactions", "customers", "units", "revenue"},
                 {{date, r.rows[0][0], r.rows[0][1], r.rows[0][2], std::string(revenue)}}});
    write_result({{"date", date}, {"transactions", num(0)}, {"customers", num(1)}, {"units", num(2)},
                  {"revenue", revenue}});
    return kExitOk;
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    std::cerr << "hivehook-etl: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::cout << kUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  std::string command = args[0];
  std::vector<std::string> positional;
  std::string warehouse, key, date;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--warehouse" || a == "--key" || a == "--date") {
      if (i + 1 >= args.size()) return usage_error(a + " needs a value");
      (a == "--warehouse" ? warehouse : a == "--key" ? key : date) = args[++i];
    } else if (a.starts_with("--warehouse=")) {
      warehouse = a.substr(12);
    } else if (a.starts_with("--key=")) {
      key = a.substr(6);
    } else if (a.starts_with("--")) {
      return usage_error("unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (warehouse.empty()) return usage_error("--warehouse is required");
  if (command == "summary") {
    if (!positional.empty()) return usage_error("summary takes no FILE");
    return run_summary(warehouse, date);
  }
  if (command == "report") {
    if (positional.empty()) return usage_error("report needs at least one SQL file");
    return run_report(warehouse, positional);
  }
  if (command != "dims" && command != "transactions")
    return usage_error("unknown command '" + command + "'");
  if (positional.size() != 1) return usage_error(command + " takes exactly one FILE");

  JobOptions opts;
  opts.file = positional[0];
  opts.warehouse = warehouse;
  opts.source_file = !key.empty() ? key : env_or("HIVEHOOK_KEY", opts.file.c_str());
  opts.run_id = env_or("HIVEHOOK_RUN_ID", "");
  JobOutcome out = command == "dims" ? run_dims(opts) : run_transactions(opts);
  write_result(out.result);
  if (!out.warning.empty()) std::cerr << "hivehook-etl: warning: " << out.warning << std::endl;
  if (out.exit_code == kExitOk)
    std::cout << out.summary << std::endl;
  else
    std::cerr << "hivehook-etl: " << out.summary << std::endl;
  return out.exit_code;
}
