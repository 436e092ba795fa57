#include <gtest/gtest.h>

#include "etl/decimal.h"
#include "etl/timestamp.h"

namespace {

using namespace hivehook::etl;

std::string amount(std::int64_t q, const char* price) { return format_cents(amount_cents(q, *parse_price(price))); }

TEST(Decimal, RoundsHalfAwayFromZeroToCents) {
  EXPECT_EQ(amount(1, "0.125"), "0.13");
  EXPECT_EQ(amount(1, "49.995"), "50.00");
  EXPECT_EQ(amount(2, "29.99"), "59.98");
  EXPECT_EQ(amount(1, "0.0001"), "0.00");
  EXPECT_EQ(amount(50, "0.0001"), "0.01");
  EXPECT_EQ(amount(1, "7"), "7.00");
  EXPECT_EQ(amount(3, "0.3333"), "1.00");
  EXPECT_EQ(amount(9223372036854775807LL, "99999999999999.9999"), "922337203685477579777662796314522.42");
}

TEST(Decimal, AmountClassBoundaries) {
  EXPECT_STREQ(amount_class_name(classify_amount(4999)), "Small");
  EXPECT_STREQ(amount_class_name(classify_amount(5000)), "Medium");
  EXPECT_STREQ(amount_class_name(classify_amount(49999)), "Medium");
  EXPECT_STREQ(amount_class_name(classify_amount(50000)), "Large");
  EXPECT_STREQ(amount_class_name(classify_amount(amount_cents(1, *parse_price("49.995")))), "Medium");
  EXPECT_STREQ(amount_class_name(classify_amount(amount_cents(1, *parse_price("49.994")))), "Small");
}

TEST(Decimal, PriceGrammar) {
  EXPECT_EQ(parse_price("7"), 70000);
  EXPECT_EQ(parse_price("29.99"), 299900);
  EXPECT_EQ(parse_price("0.125"), 1250);
  for (const char* bad : {"", "-1", "1.", ".5", "1.23456", "1,5", " 1", "1e3", "+1", "99999999999999999"})
    EXPECT_FALSE(parse_price(bad)) << bad;
  EXPECT_EQ(normalize_price("007.50"), "7.50");
  EXPECT_EQ(normalize_price("0.5"), "0.5");
  EXPECT_EQ(normalize_price("000"), "0");
}

TEST(Decimal, QuantityGrammar) {
  EXPECT_EQ(parse_quantity("007"), 7);
  EXPECT_EQ(parse_quantity("1"), 1);
  for (const char* bad : {"", "0", "000", "-1", "+1", "1.0", "1e2", " 1", "٣", "99999999999999999999"})
    EXPECT_FALSE(parse_quantity(bad)) << bad;
}

TEST(Timestamp, ExactFormatAndRealDates) {
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_timestamp("2023-03-15T13:45:12Z"), 1678887912);
  EXPECT_TRUE(parse_timestamp("2024-02-29T23:59:59Z"));
  EXPECT_TRUE(parse_timestamp("2000-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_timestamp("0001-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_timestamp("9999-12-31T23:59:59Z"));
  for (const char* bad :
       {"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "2023-04-31T00:00:00Z",
        "2023-03-15T24:00:00Z", "2023-03-15T13:60:00Z", "2023-03-15T13:45:60Z", "2023-03-15t13:45:12Z",
        "2023-03-15T13:45:12z", "2023-03-15 13:45:12Z", "2023-03-15T13:45:12", "2023-3-15T13:45:12Z",
        "2023-03-15T13:45:12.000Z", "2023-03-15T13:45:12+00:00", "2023-13-01T00:00:00Z", "2023-00-10T00:00:00Z"})
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
}

}  // namespace
