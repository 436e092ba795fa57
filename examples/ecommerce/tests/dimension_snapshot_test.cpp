// The dimension snapshot: lookups, its integrity checks, and the warehouse keeping it in step
// with the dimension tables (a change made by hand is seen through the tables' version).
#include "etl/dimension_snapshot.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace {

using namespace etl_test;
using namespace hivehook::etl;

Dimensions sample() {
  DimensionsBuilder b;
  b.add_product("P1", "Widget, A", "Gadgets", "29.99", 299900, "S1");
  b.add_product("P-LONGER-THAN-EIGHT", "Long", "Home", "7", 70000, "S2");
  b.add_product("P1", "Widget, B", "Gadgets", "31.5", 315000, "S1");  // a later row replaces
  for (int i = 1; i <= 5000; ++i)
    b.add_customer("C" + std::to_string(i), i % 2 ? "Gold" : "Silver", i % 3 ? "US" : "DE");
  b.add_customer("C-LONGER-THAN-EIGHT", "Platinum", "JP");
  return b.build();
}

TEST(DimensionSnapshot, LookupsFindEveryIdAndOnlyThose) {
  Dimensions d = sample();
  EXPECT_EQ(d.product_count(), 2u);
  EXPECT_EQ(d.customer_count(), 5001u);
  std::uint32_t p = d.find_product("P1");
  ASSERT_NE(p, Dimensions::npos);
  EXPECT_EQ(d.product_at(p).name, "Widget, B");
  EXPECT_EQ(d.product_at(p).price, "31.5");
  EXPECT_EQ(d.product_at(p).price_e4, 315000);
  ASSERT_NE(d.find_product("P-LONGER-THAN-EIGHT"), Dimensions::npos);
  EXPECT_EQ(d.product_at(d.find_product("P-LONGER-THAN-EIGHT")).supplier_id, "S2");
  for (std::string_view miss : {"", "P", "P2", "P-LONGER-THAN-EIGHX", "P-LONGER-THAN-EIGH", "p1", "C1"})
    EXPECT_EQ(d.find_product(miss), Dimensions::npos) << miss;
  for (int i = 1; i <= 5000; ++i) {
    std::uint32_t c = d.find_customer("C" + std::to_string(i));
    ASSERT_NE(c, Dimensions::npos) << i;
    EXPECT_EQ(d.customer_at(c).membership_level, i % 2 ? "Gold" : "Silver");
    EXPECT_EQ(d.customer_at(c).country, i % 3 ? "US" : "DE");
  }
  EXPECT_EQ(d.customer_at(d.find_customer("C-LONGER-THAN-EIGHT")).country, "JP");
  EXPECT_EQ(d.find_customer("C5001"), Dimensions::npos);
  EXPECT_EQ(d.find_customer("C0"), Dimensions::npos);
  EXPECT_EQ(Dimensions().find_customer("C1"), Dimensions::npos);
}

TEST(DimensionSnapshot, RoundTripsAndRejectsEveryDamagedOrForeignBuffer) {
  Dimensions d = sample();
  std::string bytes(d.snapshot());
  auto again = Dimensions::from_snapshot(bytes);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->customer_at(again->find_customer("C77")).membership_level, "Gold");
  // Any flipped byte, truncation or extension is refused (header, slots, records or text).
  for (std::size_t at : {std::size_t{0}, std::size_t{5}, std::size_t{9}, std::size_t{36},
                         std::size_t{41}, bytes.size() / 2, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[at] ^= 0x20;
    EXPECT_FALSE(Dimensions::from_snapshot(bad).has_value()) << at;
  }
  EXPECT_FALSE(Dimensions::from_snapshot(bytes.substr(0, bytes.size() - 1)).has_value());
  EXPECT_FALSE(Dimensions::from_snapshot(bytes + "x").has_value());
  EXPECT_FALSE(Dimensions::from_snapshot("").has_value());
  EXPECT_FALSE(Dimensions::from_snapshot(std::string(64, '\0')).has_value());
}

// The stored snapshot follows the tables: changed by hand (no hivehook-etl involved) or damaged,
// it is rebuilt before the next file is enriched.
TEST(DimensionSnapshot, WarehouseRebuildsItWhenTheTablesChangeOrItIsDamaged) {
  TempDir dir;
  const std::string wh = "sqlite:" + dir.str("wh.db");
  write_file(dir.str("p.csv"), kProducts);
  write_file(dir.str("c.csv"), kCustomers);
  ASSERT_EQ(run_dims({dir.str("p.csv"), wh, "dim_products/p.csv", ""}).exit_code, 0);
  ASSERT_EQ(run_dims({dir.str("c.csv"), wh, "dim_customers/c.csv", ""}).exit_code, 0);
  auto version = [&] {
    auto w = open_warehouse(wh);
    return dump(*w, "SELECT s.version = v.version FROM etl_dimension_snapshot s, etl_dimension_version v")[0];
  };
  EXPECT_EQ(version(), "1");  // stored by the dimension loads themselves
  {
    auto w = open_warehouse(wh);
    w->query("UPDATE dim_customers SET country = 'FR' WHERE customer_id = 'C1'");
    w->query("INSERT INTO dim_products VALUES ('P9', 'Hand', 'Home', '3', 'S9', 'by hand', 'now')");
  }
  EXPECT_EQ(version(), "0");  // stale now
  write_file(dir.str("t.csv"), std::string(kHeader) +
                                   "T1,C1,P9,2,2023-03-15T10:00:00Z,completed,card\n");
  auto out = run_transactions({dir.str("t.csv"), wh, "t.csv", ""});
  ASSERT_EQ(out.exit_code, 0) << out.summary;
  EXPECT_EQ(version(), "1");
  auto w = open_warehouse(wh);
  EXPECT_EQ(dump(*w, "SELECT country, product_name, amount FROM fact_transactions"),
            (std::vector<std::string>{"FR|Hand|6.00"}));
  w->query("UPDATE etl_dimension_snapshot SET data = CAST(zeroblob(length(data)) AS BLOB)");
  write_file(dir.str("t2.csv"), std::string(kHeader) +
                                    "T2,C2,P1,1,2023-03-15T10:00:00Z,completed,card\n");
  out = run_transactions({dir.str("t2.csv"), wh, "t2.csv", ""});
  ASSERT_EQ(out.exit_code, 0) << out.summary;
  EXPECT_EQ(dump(*w, "SELECT country, product_name FROM fact_transactions WHERE transaction_id = 'T2'"),
            (std::vector<std::string>{"DE|Widget, A"}));
  EXPECT_EQ(dump(*w, "SELECT length(data) > 100 FROM etl_dimension_snapshot"), (std::vector<std::string>{"1"}));
}

// A dimension load turns SQLite triggers off on its own connection (it bumps the version itself),
// but not when the operator has triggers of their own on the dimension tables: those still fire.
TEST(DimensionSnapshot, OperatorTriggersOnDimensionTablesStillFire) {
  TempDir dir;
  const std::string wh = "sqlite:" + dir.str("wh.db");
  write_file(dir.str("p.csv"), kProducts);
  ASSERT_EQ(run_dims({dir.str("p.csv"), wh, "dim_products/p.csv", ""}).exit_code, 0);
  {
    auto w = open_warehouse(wh);
    w->query("CREATE TABLE audit (product_id TEXT)");
    w->query("CREATE TRIGGER audit_products AFTER UPDATE ON dim_products BEGIN INSERT INTO audit "
             "VALUES (new.product_id); END");
  }
  write_file(dir.str("p2.csv"), "product_id,product_name,category,price,supplier_id\nP1,New,Gadgets,1,S1\n");
  ASSERT_EQ(run_dims({dir.str("p2.csv"), wh, "dim_products/p2.csv", ""}).exit_code, 0);
  auto w = open_warehouse(wh);
  EXPECT_EQ(dump(*w, "SELECT product_id FROM audit"), (std::vector<std::string>{"P1"}));
  EXPECT_EQ(dump(*w, "SELECT s.version = v.version FROM etl_dimension_snapshot s, etl_dimension_version v"),
            (std::vector<std::string>{"1"}));
}

}  // namespace
