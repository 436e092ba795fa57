// Whole programs: the generator's promises, and kill -9 in the middle of a load.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <map>
#include <set>

#include "test_support.h"

namespace {

using namespace etl_test;
using namespace hivehook::etl;

std::vector<std::string> gen_args(const std::string& out, const std::string& days, const std::string& rows,
                                  const std::string& seed, const std::string& start = "2023-03-01") {
  return {GEN_BINARY, "--out", out, "--days", days, "--rows-per-day", rows, "--customers", "300",
          "--products", "60", "--start", start, "--seed", seed};
}

std::map<std::string, std::string> tree(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) files[fs::relative(e.path(), root).string()] = read_file(e.path().string());
  return files;
}

TEST(Generator, SameSeedSameBytesOtherSeedOtherBytes) {
  TempDir dir;
  ASSERT_EQ(run(gen_args(dir.str("a"), "3", "500", "11")), 0);
  ASSERT_EQ(run(gen_args(dir.str("b"), "3", "500", "11")), 0);
  ASSERT_EQ(run(gen_args(dir.str("c"), "3", "500", "12")), 0);
  auto a = tree(dir.str("a")), b = tree(dir.str("b")), c = tree(dir.str("c"));
  EXPECT_EQ(a.size(), 5u);
  EXPECT_TRUE(a.contains("dim_products/dim_products_2023-03-01.csv"));
  EXPECT_TRUE(a.contains("dim_customers/dim_customers_2023-03-01.csv"));
  EXPECT_TRUE(a.contains("transactions/year=2023/month=03/day=03/transactions_2023-03-03.csv"));
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  for (const auto& [name, bytes] : a) EXPECT_EQ(fs::path(name).filename().string()[0] == '.', false) << name;
}

TEST(Generator, InjectsEveryNastyCaseAndEveryRejectReason) {
  TempDir dir;
  const std::string land = dir.str("land");
  ASSERT_EQ(run(gen_args(land, "6", "400", "5")), 0);
  auto files = tree(land);
  bool crlf = false, bom = false, no_final_newline = false, blank = false;
  for (const auto& [name, bytes] : files) {
    if (!name.starts_with("transactions/")) continue;
    crlf |= bytes.find("\r\n") != std::string::npos;
    bom |= bytes.starts_with("\xEF\xBB\xBF");
    no_final_newline |= !bytes.ends_with("\n");
    blank |= bytes.find("\n\n") != std::string::npos || bytes.find("\n\r\n") != std::string::npos;
  }
  EXPECT_TRUE(crlf && bom && no_final_newline && blank);

  const std::string wh = "sqlite:" + dir.str("wh.db");
  for (const auto& [name, bytes] : files) {
    if (name.starts_with("dim_")) {
      ASSERT_EQ(run_dims({land + "/" + name, wh, name, ""}).exit_code, 0) << name;
    }
  }
  std::uint64_t updated = 0, unchanged = 0;
  std::map<std::string, std::uint64_t> reasons;
  for (const auto& [name, bytes] : files) {
    if (!name.starts_with("transactions/")) continue;
    auto out = run_transactions({land + "/" + name, wh, name, ""});
    ASSERT_EQ(out.exit_code, 0) << out.summary;
    updated += out.result["updated"].get<std::uint64_t>();
    unchanged += out.result["unchanged"].get<std::uint64_t>();
    for (auto& [reason, n] : out.result["rejected"].items()) reasons[reason] += n.get<std::uint64_t>();
    EXPECT_EQ(out.result["rows_read"], 400);
  }
  EXPECT_EQ(reasons.size(), kReasonCount);
  for (const auto& [reason, n] : reasons) {
    EXPECT_GT(n, 0u) << reason;
    EXPECT_LE(n, 6u * 400 * 2 / 100) << reason;  // about 1 % each
  }
  EXPECT_GT(updated, 0u);    // status changes, in-file and across days
  EXPECT_GT(unchanged, 0u);  // full ties and losing rows
  auto w = open_warehouse(wh);
  auto count = [&](const std::string& where) {
    return std::stoll(dump(*w, "SELECT count(*) FROM fact_transactions WHERE " + where)[0]);
  };
  EXPECT_GT(count("payment_method LIKE '%' || char(10) || '%'"), 0);  // quoted line breaks
  EXPECT_GT(count("payment_method LIKE '%,%'"), 0);                   // quoted commas
  EXPECT_GT(count("product_name LIKE '%\"%'"), 0);                    // doubled quotes
  EXPECT_GT(count("product_name <> CAST(product_name AS BLOB) OR length(product_name) <> length(CAST(product_name AS BLOB))"), 0);  // non-ASCII
  EXPECT_GT(count("source_file NOT LIKE '%03-01%' AND transaction_id IN (SELECT transaction_id FROM fact_transactions WHERE status IN ('cancelled','refunded'))"), 0);
  EXPECT_GT(count("amount_class = 'Large'"), 0);
  EXPECT_GT(count("amount_class = 'Medium'"), 0);
  EXPECT_GT(count("amount_class = 'Small'"), 0);
}

// Issue 16: prices fit what is sold (no $2,100 mug as the top Beauty product); bulk orders are of
// cheap items only, so no order of forty lawn mowers tops the analytics.
TEST(Generator, PricesFitTheirCategoryAndItem) {
  TempDir dir;
  const std::string land = dir.str("land");
  ASSERT_EQ(run({GEN_BINARY, "--out", land, "--days", "2", "--rows-per-day", "2000", "--customers",
                 "500", "--products", "2000", "--seed", "3"}),
            0);
  FileSource src(land + "/dim_products/dim_products_2023-03-01.csv");
  auto parsed = parse_dimension_file(src);
  ASSERT_TRUE(std::holds_alternative<ProductsFile>(parsed));
  const std::map<std::string, std::int64_t> ceiling = {
      {"Beauty", 150}, {"Grocery", 40}, {"Books", 80},  {"Toys", 150},
      {"Home", 300},   {"Garden", 600}, {"Sports", 400}, {"Gadgets", 600}};
  std::map<std::string, int> per_category;
  for (const Product& p : std::get<ProductsFile>(parsed).rows) {
    ASSERT_TRUE(ceiling.contains(p.category)) << p.category;
    EXPECT_LE(p.price_e4, ceiling.at(p.category) * 10000) << p.id << " " << p.name << " " << p.price;
    if (p.name.find("Mug") != std::string::npos) {
      EXPECT_LE(p.price_e4, 25 * 10000) << p.name;
    }
    if (p.name.find("Lawn Mower") != std::string::npos) {
      EXPECT_GE(p.price_e4, 100 * 10000) << p.name;
    }
    ++per_category[p.category];
  }
  EXPECT_EQ(per_category.size(), 8u);
  const std::string wh = "sqlite:" + dir.str("wh.db");
  for (const char* d : {"dim_products/dim_products_2023-03-01.csv", "dim_customers/dim_customers_2023-03-01.csv"})
    ASSERT_EQ(run_dims({land + "/" + d, wh, d, ""}).exit_code, 0);
  const char* day = "transactions/year=2023/month=03/day=01/transactions_2023-03-01.csv";
  ASSERT_EQ(run_transactions({land + "/" + day, wh, day, ""}).exit_code, 0);
  auto w = open_warehouse(wh);
  EXPECT_EQ(dump(*w, "SELECT count(*) FROM fact_transactions WHERE quantity > 5 AND CAST(unit_price AS REAL) >= 30"),
            (std::vector<std::string>{"0"}));
  EXPECT_EQ(dump(*w, "SELECT max(CAST(amount AS REAL)) < 2000 FROM fact_transactions"), (std::vector<std::string>{"1"}));
}

// Issue 18: the job's memory is flat in the file's size. Peak RSS (the kernel's own figure for the
// real process) of a 200,000-row file against a 20,000-row one, each into a fresh warehouse.
TEST(Memory, PeakResidentSetIsFlatInFileSize) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's shadow memory and quarantine make the resident set meaningless";
#endif
  TempDir dir;
  auto peak_kb = [&](const std::string& rows) {
    const std::string land = dir.str("land" + rows);
    EXPECT_EQ(run({GEN_BINARY, "--out", land, "--days", "1", "--rows-per-day", rows, "--customers",
                   "20000", "--products", "2000", "--seed", "9"}),
              0);
    const std::string wh = "sqlite:" + dir.str("wh" + rows + ".db");
    for (const char* d : {"dim_products/dim_products_2023-03-01.csv", "dim_customers/dim_customers_2023-03-01.csv"})
      EXPECT_EQ(run({ETL_BINARY, "dims", land + "/" + d, "--warehouse", wh}), 0);
    pid_t pid = spawn({ETL_BINARY, "transactions",
                       land + "/transactions/year=2023/month=03/day=01/transactions_2023-03-01.csv",
                       "--warehouse", wh});
    int status = 0;
    struct rusage ru {};
    EXPECT_EQ(::wait4(pid, &status, 0, &ru), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return ru.ru_maxrss;
  };
  long small = peak_kb("20000"), large = peak_kb("200000");
  RecordProperty("peak_kb_20000_rows", std::to_string(small));
  RecordProperty("peak_kb_200000_rows", std::to_string(large));
  EXPECT_GT(small, 0);
  EXPECT_LT(large, small + small / 4 + 2048) << "20,000 rows: " << small << " KB, 200,000 rows: " << large << " KB";
}

// PostgreSQL support is a module loaded on demand: without it, a clear error (exit 1, retried),
// and SQLite jobs are unaffected.
TEST(PostgresqlModule, MissingModuleIsAClearErrorAndSqliteStillWorks) {
  TempDir dir;
  const std::string alone = dir.str("hivehook-etl");
  fs::copy_file(ETL_BINARY, alone);
  fs::permissions(alone, fs::perms::owner_all);
  write_file(dir.str("p.csv"), kProducts);
  EXPECT_EQ(run({alone, "dims", dir.str("p.csv"), "--warehouse", "sqlite:" + dir.str("wh.db")}), 0);
  const std::string out = dir.str("out.txt");
  EXPECT_EQ(run({alone, "dims", dir.str("p.csv"), "--warehouse", "postgresql://nobody@127.0.0.1:1/x"},
                {"HIVEHOOK_ETL_POSTGRESQL_MODULE=" + dir.str("nowhere.so")}, out),
            kExitFailure);
  EXPECT_NE(read_file(out).find("cannot load hivehook-etl-postgresql.so"), std::string::npos) << read_file(out);
}

// The byte offset of `path` in process `pid`'s open files, or -1.
long long read_offset(pid_t pid, const std::string& path) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code ec2;
    if (fs::read_symlink(e.path(), ec2).string() != path) continue;
    std::ifstream info("/proc/" + std::to_string(pid) + "/fdinfo/" + e.path().filename().string());
    std::string key;
    long long pos = -1;
    while (info >> key)
      if (key == "pos:") info >> pos;
    return pos;
  }
  return -1;
}

TEST(Crash, KillNineMidFileLeavesTheWarehouseAsBefore) {
  TempDir dir;
  const std::string land = dir.str("land");
  ASSERT_EQ(run(gen_args(land, "1", "300", "8")), 0);
  ASSERT_EQ(run(gen_args(dir.str("big"), "1", "400000", "8", "2023-04-01")), 0);  // same dims
  const std::string wh = "sqlite:" + dir.str("wh.db");
  for (const char* d : {"dim_products/dim_products_2023-03-01.csv", "dim_customers/dim_customers_2023-03-01.csv"})
    ASSERT_EQ(run_dims({land + "/" + d, wh, d, ""}).exit_code, 0);
  const std::string small = "transactions/year=2023/month=03/day=01/transactions_2023-03-01.csv";
  ASSERT_EQ(run_transactions({land + "/" + small, wh, small, ""}).exit_code, 0);
  auto snapshot = [&] {
    auto w = open_warehouse(wh);
    auto facts = dump(*w, kFactsSqlite);
    auto rejects = dump(*w, kRejectsSql);
    facts.insert(facts.end(), rejects.begin(), rejects.end());
    return facts;
  };
  const auto before = snapshot();
  ASSERT_GT(before.size(), 250u);

  const std::string big = fs::canonical(dir.str("big") + "/transactions/year=2023/month=04/day=01/transactions_2023-04-01.csv");
  const auto size = static_cast<long long>(fs::file_size(big));
  pid_t pid = spawn({ETL_BINARY, "transactions", big, "--warehouse", wh});
  long long seen = -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    seen = read_offset(pid, big);
    if (seen >= 3 << 20) break;  // reading, several MiB into a file of ~30 MiB
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) FAIL() << "the job ended before it could be killed";
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  ASSERT_GE(seen, 3 << 20) << "never saw the job reading";
  EXPECT_LT(seen, size);
  EXPECT_EQ(snapshot(), before);
  auto w = open_warehouse(wh);
  EXPECT_EQ(dump(*w, "PRAGMA integrity_check"), (std::vector<std::string>{"ok"}));
  // And the same file loads fine afterwards.
  auto out = run_transactions({big, wh, "big.csv", ""});
  EXPECT_EQ(out.exit_code, 0) << out.summary;
  EXPECT_EQ(out.result["rows_read"], 400000);
}

// Regression (CI, test_ecommerce): the two dimension rules opened a new warehouse at the same
// moment, and one of them failed "database is locked" switching it to WAL, which SQLite reports
// at once instead of waiting, so the daemon scheduled a retry. Every opener now waits its turn.
TEST(Concurrency, TwoJobsOpeningANewWarehouseAtOnceBothSucceed) {
  TempDir dir;
  const std::string land = dir.str("land");
  ASSERT_EQ(run(gen_args(land, "1", "50", "3")), 0);
  const std::string products = land + "/dim_products/dim_products_2023-03-01.csv";
  const std::string customers = land + "/dim_customers/dim_customers_2023-03-01.csv";
  for (int round = 0; round < 20; ++round) {
    const std::string db = dir.str("wh" + std::to_string(round) + ".db");
    pid_t a = spawn({ETL_BINARY, "dims", products, "--warehouse", "sqlite:" + db});
    pid_t b = spawn({ETL_BINARY, "dims", customers, "--warehouse", "sqlite:" + db});
    ASSERT_EQ(wait_exit(a), 0) << "round " << round;
    ASSERT_EQ(wait_exit(b), 0) << "round " << round;
    auto w = open_warehouse("sqlite:" + db);
    EXPECT_EQ(dump(*w, "SELECT count(*) FROM dim_products"), (std::vector<std::string>{"60"}));
    EXPECT_EQ(dump(*w, "SELECT count(*) FROM dim_customers"), (std::vector<std::string>{"300"}));
  }
}

}  // namespace
