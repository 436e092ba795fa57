// The transactions job against a real SQLite warehouse: rejects, upsert ties, idempotence.
#include <gtest/gtest.h>

#include "test_support.h"

namespace {

using namespace etl_test;
using namespace hivehook::etl;

class JobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    wh_spec_ = "sqlite:" + dir_.str("wh.db");
    write_file(dir_.str("p.csv"), kProducts);
    write_file(dir_.str("c.csv"), kCustomers);
    ASSERT_EQ(run_dims(opts("p.csv", "dim_products/p.csv")).exit_code, 0);
    ASSERT_EQ(run_dims(opts("c.csv", "dim_customers/c.csv")).exit_code, 0);
  }
  JobOptions opts(const std::string& rel, const std::string& key) {
    return JobOptions{dir_.str(rel), wh_spec_, key, "run-1"};
  }
  // Loads `body` (after the header) as transactions file `key`.
  JobOutcome load(const std::string& key, const std::string& body, bool header = true) {
    write_file(dir_.str(key), (header ? std::string(kHeader) : "") + body);
    return run_transactions(opts(key, key));
  }
  std::vector<std::string> facts(const char* cols = "transaction_id, status, quantity, payment_method, source_file") {
    auto wh = open_warehouse(wh_spec_);
    return dump(*wh, std::string("SELECT ") + cols + " FROM fact_transactions ORDER BY transaction_id");
  }
  std::vector<std::string> rejects() {
    auto wh = open_warehouse(wh_spec_);
    return dump(*wh, "SELECT source_file, line_number, reason FROM rejected_transactions ORDER BY source_file, line_number");
  }

  TempDir dir_;
  std::string wh_spec_;
};

TEST_F(JobTest, EveryRejectReasonInContractOrder) {
  auto out = load("t1.csv",
                  "T1,C1,P1,1,2023-03-15T13:45:12Z,completed\n"             // 2 malformed (6 fields)
                  ",C9,P9,x,bad,nope,card\n"                                // 3 missing_id first
                  "T3,C9,P9,x,bad,nope,card\n"                              // 4 unknown_customer
                  "T4,,P1,1,2023-03-15T13:45:12Z,completed,card\n"          // 5 unknown_customer (empty)
                  "T5,C1,P9,x,bad,nope,card\n"                              // 6 unknown_product
                  "T6,C1,P1,0,bad,nope,card\n"                              // 7 bad_quantity
                  "T7,C1,P1,1,2023-02-29T00:00:00Z,nope,card\n"             // 8 bad_timestamp
                  "T8,C1,P1,1,2023-03-15T13:45:12Z,Completed,card\n"        // 9 bad_status
                  "T9,c1,P1,1,2023-03-15T13:45:12Z,completed,card\n"        // 10 unknown_customer (case)
                  "\"T10\"x,C1,P1,1,2023-03-15T13:45:12Z,completed,card\n"  // 11 malformed
                  "T11,C1,P1,007,2023-03-15T13:45:12Z,completed,\n");       // 12 valid, empty payment
  ASSERT_EQ(out.exit_code, 0) << out.summary;
  EXPECT_EQ(rejects(), (std::vector<std::string>{
                           "t1.csv|2|malformed", "t1.csv|3|missing_id", "t1.csv|4|unknown_customer",
                           "t1.csv|5|unknown_customer", "t1.csv|6|unknown_product",
                           "t1.csv|7|bad_quantity", "t1.csv|8|bad_timestamp", "t1.csv|9|bad_status",
                           "t1.csv|10|unknown_customer", "t1.csv|11|malformed"}));
  EXPECT_EQ(facts(), (std::vector<std::string>{"T11|completed|7||t1.csv"}));
  EXPECT_EQ(out.result["rows_read"], 11);
  EXPECT_EQ(out.result["rejected_total"], 10);
  EXPECT_EQ(out.result["rejected"]["unknown_customer"], 3);
  EXPECT_EQ(out.result["rejected"]["malformed"], 2);
  EXPECT_EQ(out.result["inserted"], 1);
  auto wh = open_warehouse(wh_spec_);
  EXPECT_EQ(dump(*wh, "SELECT raw FROM rejected_transactions WHERE line_number = 11"),
            (std::vector<std::string>{"\"T10\"x,C1,P1,1,2023-03-15T13:45:12Z,completed,card"}));
}

// Issue 18 retest E3: a stray quote near the top turned the rest of the day into one reject and
// the job succeeded without a word. It still does (the contract), but says so: a warning line on
// stderr and `unclosed_quote` {line, lines} in the result.
TEST_F(JobTest, E3_AQuoteNeverClosedIsNamedWithTheLinesItSwallowed) {
  auto out = load("t3.csv",
                  "T1,C1,P1,1,2023-03-15T13:45:12Z,completed,card\n"
                  "T2,C1,P1,1,2023-03-15T13:45:12Z,\"completed,card\n"
                  "T3,C1,P1,1,2023-03-15T13:45:12Z,completed,card\n"
                  "T4,C1,P1,1,2023-03-15T13:45:12Z,completed,card\n");
  ASSERT_EQ(out.exit_code, 0) << out.summary;
  EXPECT_EQ(rejects(), (std::vector<std::string>{"t3.csv|3|malformed"}));
  EXPECT_EQ(out.result["unclosed_quote"]["line"], 3);
  EXPECT_EQ(out.result["unclosed_quote"]["lines"], 3);
  EXPECT_NE(out.warning.find("line 3: a quote opened in this record is never closed"), std::string::npos)
      << out.warning;
  auto clean = load("t4.csv", "T5,C1,P1,1,2023-03-15T13:45:12Z,completed,card\n");
  EXPECT_FALSE(clean.result.contains("unclosed_quote"));
  EXPECT_TRUE(clean.warning.empty());
}

TEST_F(JobTest, EnrichmentAmountsAndClasses) {
  ASSERT_EQ(load("t.csv",
                 "T1,C2,P2,1,2023-03-15T13:45:12Z,completed,card\n"
                 "T2,C1,P3,1,2023-03-15T13:45:12Z,completed,card\n"
                 "T3,C1,P1,1,2023-03-15T13:45:12Z,completed,card\n"
                 "T4,C1,P4,1,2023-12-31T23:59:59Z,pending,card\n"
                 "T5,C1,P5,3,2023-03-15T13:45:12Z,pending,card\n")
                .exit_code,
            0);
  EXPECT_EQ(facts("transaction_id, product_name, category, supplier_id, membership_level, country, "
                  "unit_price, amount, amount_class, transaction_date"),
            (std::vector<std::string>{
                "T1|Eighth|Gadgets|S1|Silver|DE|0.125|0.13|Small|2023-03-15",
                "T2|Edge|Home|S2|Gold|US|49.995|50.00|Medium|2023-03-15",
                "T3|Widget, A|Gadgets|S1|Gold|US|29.99|29.99|Small|2023-03-15",
                "T4|Big|Home|S2|Gold|US|500|500.00|Large|2023-12-31",
                "T5|Tiny|Toys|S3|Gold|US|0.0001|0.00|Small|2023-03-15"}));
}

TEST_F(JobTest, InFileTiesEarlierLineWinsAndHigherTsOrRankWins) {
  ASSERT_EQ(load("t.csv",
                 // full tie: line 2 wins over line 3
                 "A,C1,P1,1,2023-03-15T10:00:00Z,completed,first\n"
                 "A,C1,P1,2,2023-03-15T10:00:00Z,completed,second\n"
                 // same ts, higher rank wins regardless of order
                 "B,C1,P1,1,2023-03-15T10:00:00Z,refunded,high\n"
                 "B,C1,P1,2,2023-03-15T10:00:00Z,pending,low\n"
                 // later ts wins even with a lower rank
                 "D,C1,P1,1,2023-03-15T10:00:00Z,refunded,early\n"
                 "D,C1,P1,2,2023-03-15T10:00:01Z,pending,late\n"
                 // a rejected row never takes part
                 "E,C1,P1,1,2023-03-15T10:00:00Z,pending,ok\n"
                 "E,C1,P1,0,2023-03-16T10:00:00Z,refunded,rejected\n")
                .exit_code,
            0);
  EXPECT_EQ(facts(), (std::vector<std::string>{"A|completed|1|first|t.csv", "B|refunded|1|high|t.csv",
                                               "D|pending|2|late|t.csv", "E|pending|1|ok|t.csv"}));
}

TEST_F(JobTest, StoredRowWinsFullTiesAndLosesToHigherRank) {
  ASSERT_EQ(load("day1.csv",
                 "A,C1,P1,1,2023-03-15T10:00:00Z,completed,stored\n"
                 "B,C1,P1,1,2023-03-15T10:00:00Z,completed,stored\n"
                 "D,C1,P1,1,2023-03-15T10:00:00Z,completed,stored\n")
                .exit_code,
            0);
  auto out = load("day2.csv",
                  "A,C1,P1,9,2023-03-15T10:00:00Z,completed,incoming\n"  // full tie: stored wins
                  "B,C1,P1,9,2023-03-15T10:00:00Z,cancelled,incoming\n"  // same ts, higher rank
                  "D,C1,P1,9,2023-03-15T09:59:59Z,refunded,incoming\n"   // earlier ts loses
                  "N,C1,P1,9,2023-03-16T10:00:00Z,pending,incoming\n");
  ASSERT_EQ(out.exit_code, 0);
  EXPECT_EQ(facts(), (std::vector<std::string>{"A|completed|1|stored|day1.csv",
                                               "B|cancelled|9|incoming|day2.csv",
                                               "D|completed|1|stored|day1.csv",
                                               "N|pending|9|incoming|day2.csv"}));
  EXPECT_EQ(out.result["inserted"], 1);
  EXPECT_EQ(out.result["updated"], 1);
  EXPECT_EQ(out.result["unchanged"], 2);
}

TEST_F(JobTest, ReprocessingChangesNothingAndOutOfOrderFilesFollowTheRule) {
  const std::string day1 = "A,C1,P1,1,2023-03-15T10:00:00Z,pending,d1\nbad-row\n";
  const std::string day2 = "A,C1,P1,2,2023-03-16T10:00:00Z,completed,d2\nB,C1,P1,1,2023-03-16T10:00:00Z,pending,d2\n";
  // Apply day 2 first, then day 1: day 2's A (later ts) must remain.
  ASSERT_EQ(load("day2.csv", day2).exit_code, 0);
  ASSERT_EQ(load("day1.csv", day1).exit_code, 0);
  auto want = std::vector<std::string>{"A|completed|2|d2|day2.csv", "B|pending|1|d2|day2.csv"};
  EXPECT_EQ(facts(), want);
  auto before_rejects = rejects();
  auto again = load("day1.csv", day1);
  EXPECT_EQ(again.result["inserted"], 0);
  EXPECT_EQ(again.result["updated"], 0);
  auto again2 = load("day2.csv", day2);
  EXPECT_EQ(again2.result["updated"], 0);
  EXPECT_EQ(again2.result["unchanged"], 2);
  EXPECT_EQ(facts(), want);
  EXPECT_EQ(rejects(), before_rejects);
  EXPECT_EQ(rejects(), (std::vector<std::string>{"day1.csv|3|malformed"}));
}

TEST_F(JobTest, AllRejectedAndHeaderOnlyFilesLoad) {
  auto all = load("all.csv", ",C1,P1,1,2023-03-15T10:00:00Z,pending,x\nT,C1,P1,1,2023-03-15T10:00:00Z,shipped,x\n");
  EXPECT_EQ(all.exit_code, 0);
  EXPECT_EQ(all.result["rejected_total"], 2);
  EXPECT_EQ(all.result["inserted"], 0);
  auto empty = load("empty.csv", "");
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.result["rows_read"], 0);
  auto blank_only = load("blank.csv", "\n\r\n\n");
  EXPECT_EQ(blank_only.exit_code, 0);
  EXPECT_EQ(blank_only.result["rows_read"], 0);
}

TEST_F(JobTest, CrlfBomNoFinalNewlineQuotedBreaksNonAscii) {
  std::string body =
      "\xEF\xBB\xBF\r\n"  // BOM, then a blank line before the header (line 1)
      "transaction_id,customer_id,product_id,quantity,transaction_ts,status,payment_method\r\n"
      "T1,C2,P1,1,2023-03-15T10:00:00Z,completed,\"gift\r\ncard, ünïcode\"\r\n"  // lines 3-4
      "\r\n"                                                                      // 5 blank
      "T2,C1,P1,x,2023-03-15T10:00:00Z,completed,card\r\n"                        // 6 bad_quantity
      "\"T3\",\"C1\",\"P1\",\"1\",\"2023-03-15T10:00:00Z\",\"pending\",\"card\"";  // 7, no newline
  write_file(dir_.str("crlf.csv"), body);
  auto out = run_transactions(opts("crlf.csv", "crlf.csv"));
  ASSERT_EQ(out.exit_code, 0) << out.summary;
  EXPECT_EQ(rejects(), (std::vector<std::string>{"crlf.csv|6|bad_quantity"}));
  EXPECT_EQ(facts("transaction_id, payment_method"),
            (std::vector<std::string>{"T1|gift\r\ncard, ünïcode", "T3|card"}));
}

TEST_F(JobTest, WrongHeaderAndInvalidUtf8Exit65AndLoadNothing) {
  EXPECT_EQ(load("h.csv", "transaction_id,customer_id\nT1,C1\n", false).exit_code, kExitDataErr);
  EXPECT_EQ(load("h2.csv", "T1,C1,P1,1,2023-03-15T10:00:00Z,completed,card\n", false).exit_code, kExitDataErr);
  EXPECT_EQ(load("h3.csv", "", false).exit_code, kExitDataErr);
  auto bad = load("u.csv", "T1,C1,P1,1,2023-03-15T10:00:00Z,completed,card\nT2,C1,P1,1,2023-03-15T10:00:00Z,completed,\xFF\n");
  EXPECT_EQ(bad.exit_code, kExitDataErr);
  EXPECT_NE(bad.summary.find("line 3"), std::string::npos) << bad.summary;
  EXPECT_TRUE(facts().empty());
  EXPECT_TRUE(rejects().empty());
}

// The two contract points of issue 18, end to end: rejected as malformed at their line, the rest loads.
TEST_F(JobTest, NulByteRecordAndCrCrLfLineAreMalformedAloneAndTheRestLoads) {
  using namespace std::string_literals;
  auto out = load("n.csv",
                  "T1,C1,P1,1,2023-03-15T10:00:00Z,completed,card\n"
                  "T2,C1,P1,1,2023-03-15T10:00:00Z,completed,ca\0rd\n"
                  "\r\r\n"
                  "T3,C1,P1,\"\0\",2023-03-15T10:00:00Z,completed,card\r\n"
                  "T4,C1,P1,1,2023-03-15T10:00:00Z,completed,card\n"s);
  ASSERT_EQ(out.exit_code, kExitOk) << out.summary;
  EXPECT_EQ(out.result["rejected"]["malformed"], 3);
  EXPECT_EQ(facts("transaction_id"), (std::vector<std::string>{"T1", "T4"}));
  EXPECT_EQ(rejects(), (std::vector<std::string>{"n.csv|3|malformed", "n.csv|4|malformed",
                                                 "n.csv|5|malformed"}));
  auto wh = open_warehouse(wh_spec_);
  EXPECT_EQ(dump(*wh, "SELECT length(CAST(raw AS BLOB)), instr(CAST(raw AS BLOB), x'00') > 0 "
                      "FROM rejected_transactions ORDER BY line_number"),
            (std::vector<std::string>{"47|1", "1|0", "48|1"}));
}

TEST(JobDims, EmptyDimensionsExit75AndBadDimensionFilesExit65) {
  TempDir dir;
  std::string wh = "sqlite:" + dir.str("wh.db");
  write_file(dir.str("t.csv"), std::string(kHeader) + "T1,C1,P1,1,2023-03-15T10:00:00Z,completed,card\n");
  EXPECT_EQ(run_transactions({dir.str("t.csv"), wh, "t.csv", ""}).exit_code, kExitTempFail);
  write_file(dir.str("p.csv"), kProducts);
  ASSERT_EQ(run_dims({dir.str("p.csv"), wh, "p.csv", ""}).exit_code, 0);
  EXPECT_EQ(run_transactions({dir.str("t.csv"), wh, "t.csv", ""}).exit_code, kExitTempFail);  // no customers

  for (std::string bad : {std::string("product_id,product_name,category,price,supplier_id\nP1,a,b,1.23456,S\n"),
                          std::string("product_id,product_name,category,price,supplier_id\nP1,a,b,1,S\nP1,a,b,2,S\n"),
                          std::string("product_id,product_name,category,price,supplier_id\nP1,a,b,1\n"),
                          std::string("customer_id,first_name,last_name,email,membership_level,country\nC1,a,b,c,Gold,US\nC2,a,b,c,gold,US\n"),
                          std::string("customer_id,first_name,last_name,email,membership_level,country\n,a,b,c,Gold,US\n"),
                          std::string("id,name\n1,a\n"), std::string("")}) {
    write_file(dir.str("bad.csv"), bad);
    EXPECT_EQ(run_dims({dir.str("bad.csv"), wh, "bad.csv", ""}).exit_code, kExitDataErr) << bad;
  }
  // A dimension file must be entirely well formed: a NUL byte fails the whole file, saying where.
  using namespace std::string_literals;
  write_file(dir.str("nul.csv"), "product_id,product_name,category,price,supplier_id\nP1,a\0,b,1,S\n"s);
  auto nul = run_dims({dir.str("nul.csv"), wh, "nul.csv", ""});
  EXPECT_EQ(nul.exit_code, kExitDataErr);
  EXPECT_NE(nul.summary.find("line 2: NUL byte"), std::string::npos) << nul.summary;
}

TEST(JobDims, LaterSnapshotReplacesAttributesButNotLoadedFacts) {
  TempDir dir;
  std::string wh = "sqlite:" + dir.str("wh.db");
  write_file(dir.str("p.csv"), kProducts);
  write_file(dir.str("c.csv"), kCustomers);
  ASSERT_EQ(run_dims({dir.str("p.csv"), wh, "p.csv", ""}).exit_code, 0);
  ASSERT_EQ(run_dims({dir.str("c.csv"), wh, "c.csv", ""}).exit_code, 0);
  write_file(dir.str("t1.csv"), std::string(kHeader) + "T1,C1,P1,1,2023-03-15T10:00:00Z,completed,card\n");
  ASSERT_EQ(run_transactions({dir.str("t1.csv"), wh, "t1.csv", ""}).exit_code, 0);
  write_file(dir.str("p2.csv"), "product_id,product_name,category,price,supplier_id\nP1,Renamed,Toys,10,S9\n");
  ASSERT_EQ(run_dims({dir.str("p2.csv"), wh, "p2.csv", ""}).exit_code, 0);
  write_file(dir.str("t2.csv"), std::string(kHeader) + "T2,C1,P1,1,2023-03-15T10:00:00Z,completed,card\n");
  ASSERT_EQ(run_transactions({dir.str("t2.csv"), wh, "t2.csv", ""}).exit_code, 0);
  auto w = open_warehouse(wh);
  EXPECT_EQ(dump(*w, "SELECT transaction_id, product_name, unit_price, amount FROM fact_transactions ORDER BY 1"),
            (std::vector<std::string>{"T1|Widget, A|29.99|29.99", "T2|Renamed|10|10.00"}));
  EXPECT_EQ(dump(*w, "SELECT count(*) FROM dim_products"), (std::vector<std::string>{"5"}));
}

TEST(JobCli, ResultJsonKeyPrecedenceAndExitCodes) {
  TempDir dir;
  std::string wh = "sqlite:" + dir.str("wh.db");
  write_file(dir.str("p.csv"), kProducts);
  write_file(dir.str("c.csv"), kCustomers);
  write_file(dir.str("t.csv"), std::string(kHeader) + "T1,C1,P1,1,2023-03-15T10:00:00Z,completed,card\nT2,C1,P1,0,2023-03-15T10:00:00Z,completed,card\n");
  EXPECT_EQ(run({ETL_BINARY, "transactions", dir.str("t.csv"), "--warehouse", wh}), 75);
  EXPECT_EQ(run({ETL_BINARY, "dims", dir.str("p.csv"), "--warehouse", wh}), 0);
  EXPECT_EQ(run({ETL_BINARY, "dims", dir.str("c.csv"), "--warehouse", wh}), 0);
  std::string result = dir.str("result.json");
  EXPECT_EQ(run({ETL_BINARY, "transactions", dir.str("t.csv"), "--warehouse", wh},
                {"HIVEHOOK_RESULT=" + result, "HIVEHOOK_KEY=transactions/t.csv", "HIVEHOOK_RUN_ID=r42"}),
            0);
  auto j = nlohmann::json::parse(read_file(result));
  EXPECT_EQ(j["source_file"], "transactions/t.csv");
  EXPECT_EQ(j["rows_read"], 2);
  EXPECT_EQ(j["inserted"], 1);
  EXPECT_EQ(j["rejected"]["bad_quantity"], 1);
  EXPECT_EQ(j["rejected_total"], 1);
  EXPECT_EQ(j["warehouse"], wh);
  EXPECT_EQ(run({ETL_BINARY, "transactions", dir.str("t.csv"), "--warehouse", wh, "--key", "k/t.csv"},
                {"HIVEHOOK_RESULT=" + result, "HIVEHOOK_KEY=transactions/t.csv"}),
            0);
  EXPECT_EQ(nlohmann::json::parse(read_file(result))["source_file"], "k/t.csv");
  auto w = open_warehouse(wh);
  EXPECT_EQ(dump(*w, "SELECT source_file, run_id FROM rejected_transactions ORDER BY 1"),
            (std::vector<std::string>{"k/t.csv|NULL", "transactions/t.csv|r42"}));
  EXPECT_EQ(run({ETL_BINARY, "transactions", dir.str("p.csv"), "--warehouse", wh}), 65);
  EXPECT_EQ(run({ETL_BINARY, "transactions", dir.str("t.csv"), "--warehouse", "sqlite:" + dir.str("no/such/dir/wh.db")}), 1);
  EXPECT_EQ(run({ETL_BINARY, "transactions", dir.str("t.csv"), "--warehouse", "postgresql://nobody@127.0.0.1:1/x"}), 1);
  EXPECT_EQ(run({ETL_BINARY, "transactions", dir.str("t.csv")}), 64);
}

}  // namespace
