// SQLite and a real PostgreSQL (started here on a loopback port) load the same generated data
// into the same facts and rejects, report the same counts, and answer the analytics identically.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>

#include "test_support.h"

namespace {

using namespace etl_test;
using namespace hivehook::etl;

// Runs the pg-cluster script; owns the server until destroyed.
class PgCluster {
 public:
  explicit PgCluster(const std::string& dir) : dir_(dir) {
    std::string cmd = std::string(PG_CLUSTER_SCRIPT) + " start " + dir_ + " 2>" + dir_ + ".err";
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[512] = {0};
    if (p && std::fgets(buf, sizeof buf, p)) url_ = buf;
    int rc = p ? ::pclose(p) : -1;
    status_ = WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
    while (!url_.empty() && (url_.back() == '\n' || url_.back() == '\r')) url_.pop_back();
    error_ = read_file(dir_ + ".err");
  }
  ~PgCluster() {
    std::string cmd = std::string(PG_CLUSTER_SCRIPT) + " stop " + dir_ + " >/dev/null 2>&1";
    [[maybe_unused]] int rc = std::system(cmd.c_str());
  }
  int status() const { return status_; }
  const std::string& url() const { return url_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_, url_, error_;
  int status_ = 1;
};

const char* kFactsPg =
    "SELECT transaction_id, customer_id, product_id, product_name, category, supplier_id, "
    "membership_level, country, quantity::text, unit_price::text, amount::text, amount_class, "
    "to_char(transaction_ts, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), transaction_date::text, status, "
    "payment_method, source_file FROM fact_transactions ORDER BY transaction_id COLLATE \"C\"";

TEST(PgParity, SameFactsRejectsCountsAndAnalyticsAsSqlite) {
  TempDir dir;
  ::chmod(dir.str().c_str(), 0755);  // the server runs as the postgres user
  PgCluster pg(dir.str("pg"));
  if (pg.status() == 77) GTEST_SKIP() << "PostgreSQL cannot run here: " << pg.error();
  ASSERT_EQ(pg.status(), 0) << pg.error();
  ASSERT_TRUE(pg.url().starts_with("postgresql://postgres@127.0.0.1:")) << pg.url();

  const std::string land = dir.str("land");
  ASSERT_EQ(run({GEN_BINARY, "--out", land, "--days", "5", "--rows-per-day", "600", "--customers", "200",
                 "--products", "50", "--start", "2023-03-30", "--seed", "21"}),
            0);
  std::vector<std::string> dims, days;
  for (const auto& e : fs::recursive_directory_iterator(land)) {
    if (!e.is_regular_file()) continue;
    std::string key = fs::relative(e.path(), land).string();
    (key.starts_with("dim_") ? dims : days).push_back(key);
  }
  std::sort(days.begin(), days.end());
  // Out of date order on purpose, then one file again: both must agree anyway.
  std::swap(days[1], days[3]);
  days.push_back(days[0]);

  const std::string sqlite = "sqlite:" + dir.str("wh.db");
  for (const std::string& wh : {sqlite, pg.url()})
    for (const auto& d : dims) ASSERT_EQ(run_dims({land + "/" + d, wh, d, "r"}).exit_code, 0) << wh;
  for (const auto& key : days) {
    auto a = run_transactions({land + "/" + key, sqlite, key, "r"});
    auto b = run_transactions({land + "/" + key, pg.url(), key, "r"});
    ASSERT_EQ(a.exit_code, 0) << a.summary;
    ASSERT_EQ(b.exit_code, 0) << b.summary;
    for (const char* field : {"rows_read", "inserted", "updated", "unchanged", "rejected", "rejected_total"})
      EXPECT_EQ(a.result[field], b.result[field]) << key << " " << field;
  }
  auto s = open_warehouse(sqlite);
  auto p = open_warehouse(pg.url());
  auto facts_s = dump(*s, kFactsSqlite), facts_p = dump(*p, kFactsPg);
  ASSERT_GT(facts_s.size(), 2000u);
  ASSERT_EQ(facts_s.size(), facts_p.size());
  for (std::size_t i = 0; i < facts_s.size(); ++i) ASSERT_EQ(facts_s[i], facts_p[i]) << "row " << i;
  auto rej_s = dump(*s, kRejectsSql);
  auto rej_p = dump(*p, "SELECT source_file, line_number::text, reason, raw FROM rejected_transactions "
                        "ORDER BY source_file COLLATE \"C\", rejected_transactions.line_number");
  ASSERT_GT(rej_s.size(), 100u);
  EXPECT_EQ(rej_s, rej_p);

  int queries = 0;
  for (const auto& e : fs::directory_iterator(std::string(ETL_SOURCE_DIR) + "/sql")) {
    std::string sql = read_file(e.path().string());
    auto rs = s->query(sql), rp = p->query(sql);
    EXPECT_EQ(rs.columns, rp.columns) << e.path();
    EXPECT_FALSE(rs.rows.empty()) << e.path();
    EXPECT_EQ(rs.rows, rp.rows) << e.path();
    ++queries;
  }
  EXPECT_EQ(queries, 5);
}

}  // namespace
