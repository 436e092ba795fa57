#include "generator.h"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "catalog.h"
#include "csv_writer.h"
#include "etl/timestamp.h"
#include "rng.h"

namespace hivehook::gen {

namespace {

using etl::civil_from_days;
using etl::days_from_civil;

constexpr std::array kFirstNames = {"John", "Mary", "José", "Zoë", "Søren", "Łukasz", "Aiko",
                                    "Priya", "Chloé", "Ahmed", "Olga", "李"};
constexpr std::array kLastNames = {"Doe", "Smith", "García", "Müller", "O'Neil", "Nguyen",
                                   "Øster", "Kowalski", "Dubois", "王", "Silva", "Tanaka"};
constexpr std::array kNastyLastNames = {"Smith, Jr.", "\"Bud\" Jones", "Van\nDyke"};
constexpr std::array kLevels = {"Bronze", "Silver", "Gold", "Platinum"};
constexpr std::array kCountries = {"US", "GB", "DE", "FR", "JP", "BR", "IN", "CA", "AU", "ES"};
constexpr std::array kStatuses = {"pending", "completed", "cancelled", "refunded"};
constexpr std::array kPayments = {"card", "paypal", "bank_transfer", "gift_card"};
std::string pad(char prefix, std::int64_t n, int width) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  std::string digits(buf, r.ptr);
  std::string out(1, prefix);
  if (static_cast<int>(digits.size()) < width) out.append(width - digits.size(), '0');
  return out + digits;
}

std::string two(unsigned v) {
  char b[3] = {static_cast<char>('0' + v / 10 % 10), static_cast<char>('0' + v % 10), 0};
  return b;
}

std::string date_text(std::int64_t day) {
  int y;
  unsigned m, d;
  civil_from_days(day, y, m, d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
  return buf;
}

// "YYYY-MM-DDTHH:MM:SSZ" for seconds since the epoch, into a fixed buffer (hot path).
void ts_text(std::int64_t secs, char out[21]) {
  std::int64_t day = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  std::int64_t rem = secs - day * 86400;
  int y;
  unsigned m, d;
  civil_from_days(day, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  std::memcpy(out, buf, 21);
}

std::string product_id(std::int64_t i) { return pad('P', i, 5); }
std::string customer_id(std::int64_t i) { return pad('C', i, 6); }
std::string transaction_id(std::int64_t i) { return pad('T', i, 10); }

void write_products(const GenOptions& o, const std::string& start,
                    const std::vector<CatalogProduct>& catalog) {
  CsvFileWriter w(o.out + "/dim_products", "dim_products_" + start + ".csv", false);
  w.raw("product_id,product_name,category,price,supplier_id");
  w.end_line();
  for (const CatalogProduct& p : catalog) {
    w.field(p.id, true);
    w.field(p.name);
    w.field(p.category);
    w.field(p.price);
    w.field(p.supplier_id);
    w.end_line();
  }
  w.commit();
}

void write_customers(const GenOptions& o, const std::string& start) {
  Rng rng(o.seed ^ 0x63757374ULL);
  CsvFileWriter w(o.out + "/dim_customers", "dim_customers_" + start + ".csv", false);
  w.raw("\xEF\xBB\xBF");  // this snapshot carries a BOM
  w.raw("customer_id,first_name,last_name,email,membership_level,country");
  w.end_line();
  for (int i = 1; i <= o.customers; ++i) {
    std::string first = kFirstNames[rng.range(0, kFirstNames.size() - 1)];
    std::string last = i % 11 == 0 ? kNastyLastNames[(i / 11) % kNastyLastNames.size()]
                                   : kLastNames[rng.range(0, kLastNames.size() - 1)];
    w.field(customer_id(i), true);
    w.field(first);
    w.field(last);
    w.field("customer" + std::to_string(i) + "@example.com");
    w.field(kLevels[rng.range(0, kLevels.size() - 1)]);
    w.field(kCountries[rng.range(0, kCountries.size() - 1)]);
    w.end_line();
  }
  w.commit();
}

// A valid row remembered so that later rows can revisit its id.
struct Seen {
  std::int64_t id, ts, customer, product;
  int status;
};

class Ring {
 public:
  void push(const Seen& s) {
    if (items_.size() < kCap) items_.push_back(s);
    else items_[next_++ % kCap] = s;
  }
  bool empty() const { return items_.empty(); }
  const Seen& pick(Rng& rng) const { return items_[rng.range(0, items_.size() - 1)]; }

 private:
  static constexpr std::size_t kCap = 512;
  std::vector<Seen> items_;
  std::size_t next_ = 0;
};

struct DayState {
  std::int64_t next_id = 1;
  Ring previous_days;
};

void emit_row(CsvFileWriter& w, const std::string& id, const std::string& cust,
              const std::string& prod, std::string_view qty, std::string_view ts,
              std::string_view status, std::string_view payment) {
  w.field(id, true);
  w.field(cust);
  w.field(prod);
  w.field(qty);
  w.field(ts);
  w.field(status);
  w.field(payment);
  w.end_line();
}

int pick_status(Rng& rng) {
  int r = static_cast<int>(rng.range(0, 99));
  return r < 20 ? 0 : r < 90 ? 1 : r < 95 ? 2 : 3;
}

std::int64_t write_day(const GenOptions& o, const std::vector<CatalogProduct>& catalog,
                       std::int64_t day_number, int index, DayState& st) {
  Rng rng(o.seed * 1000003ULL + static_cast<std::uint64_t>(index) * 7919ULL + 1);
  std::string date = date_text(day_number);
  int y;
  unsigned m, d;
  civil_from_days(day_number, y, m, d);
  std::string dir = o.out + "/transactions/year=" + std::to_string(y) + "/month=" + two(m) +
                    "/day=" + two(d);
  bool crlf = index % 4 == 1;
  bool bom = index % 5 == 2;
  bool final_newline = index % 3 != 2;
  CsvFileWriter w(dir, "transactions_" + date + ".csv", crlf);
  if (bom) w.raw("\xEF\xBB\xBF");
  if (index % 6 == 5) w.end_line();  // a blank line before the header
  w.raw("transaction_id,customer_id,product_id,quantity,transaction_ts,status,payment_method");
  w.end_line();

  Ring today;
  const std::int64_t day_start = day_number * 86400;
  const std::int64_t step = std::max<std::int64_t>(1, 86400 / std::max<std::int64_t>(1, o.rows_per_day));
  char ts[21];
  for (std::int64_t i = 0; i < o.rows_per_day; ++i) {
    int slot = static_cast<int>((i + index * 37) % 100);
    std::int64_t secs = day_start + std::min<std::int64_t>(86399, i * 86400 / o.rows_per_day +
                                                                      rng.range(0, step - 1));
    ts_text(secs, ts);
    std::int64_t cust = rng.range(1, o.customers), prod = rng.range(1, o.products);
    std::string payment = kPayments[rng.range(0, kPayments.size() - 1)];
    int variant = static_cast<int>((i / 100) % 6);

    if (slot <= 6) {  // one reject of each reason per 100 rows
      std::string id = transaction_id(st.next_id++);
      std::string c = customer_id(cust), p = product_id(prod);
      switch (slot) {
        case 0:  // malformed
          if (variant % 4 == 0) w.raw(id + "," + c + "," + p + ",1," + ts + ",completed,card,extra");
          else if (variant % 4 == 1) w.raw(id + "," + c + "," + p + ",1," + ts + ",completed");
          else if (variant % 4 == 2) w.raw(id + "," + c + "," + p + "\"x\",1," + ts + ",completed,card");  // even quotes: stays one line
          else w.raw("\"" + id + "\"x," + c + "," + p + ",1," + ts + ",completed,card");
          w.end_line();
          break;
        case 1: emit_row(w, "", c, p, "1", ts, "completed", payment); break;
        case 2: emit_row(w, id, variant % 3 == 0 ? "" : pad('X', cust, 6), p, "1", ts, "completed", payment); break;
        case 3: emit_row(w, id, c, variant % 3 == 0 ? "" : pad('Q', prod, 5), "2", ts, "pending", payment); break;
        case 4: {
          constexpr std::array bad = {"0", "-1", "1.5", "abc", "", "+2"};
          emit_row(w, id, c, p, bad[variant % bad.size()], ts, "completed", payment);
          break;
        }
        case 5: {
          const std::array bad = {date.substr(0, 4) + "-02-30T10:00:00Z", date + " 13:45:12",
                                  date + "T24:00:00Z", date + "T13:45:60Z",
                                  date + "T13:45:12z", std::string("0000-01-01T00:00:00Z")};
          emit_row(w, id, c, p, "1", bad[variant % bad.size()], "completed", payment);
          break;
        }
        case 6: {
          constexpr std::array bad = {"Completed", "shipped", "", "refund", "PENDING", "paid"};
          emit_row(w, id, c, p, "1", ts, bad[variant % bad.size()], payment);
          break;
        }
      }
      continue;
    }
    if ((slot >= 10 && slot <= 12 && !today.empty()) ||
        (slot >= 20 && slot <= 21 && !st.previous_days.empty())) {
      // Revisit an id: a status change, an equal timestamp, or a full tie.
      Seen s = slot >= 20 ? st.previous_days.pick(rng) : today.pick(rng);
      std::int64_t when = s.ts;
      int status = s.status;
      if (slot == 10) {
        when = s.ts + rng.range(1, 3600);
        status = std::min(3, s.status + 1 + static_cast<int>(rng.range(0, 1)));
      } else if (slot == 11) {
        status = static_cast<int>((s.status + rng.range(1, 3)) % 4);  // same ts, other status
      } else if (slot == 20) {
        when = secs;
        status = 2 + static_cast<int>(rng.range(0, 1));  // later day: cancelled or refunded
      }  // slot 12 and 21: full tie, only the payload differs; the earlier row must win
      char ts2[21];
      ts_text(when, ts2);
      emit_row(w, transaction_id(s.id), customer_id(s.customer), product_id(s.product),
               std::to_string(rng.range(1, 3)), ts2, kStatuses[status], payment);
      today.push(Seen{s.id, when, s.customer, s.product, status});
      continue;
    }
    std::int64_t id = st.next_id++;
    int status = pick_status(rng);
    // Bulk orders (10 to 60) only of cheap items: nobody buys 40 lawn mowers.
    bool cheap = catalog[static_cast<std::size_t>(prod - 1)].price_e4 < 30 * 10000;
    std::int64_t qty = cheap && rng.chance(15) ? rng.range(10, 60) : rng.range(1, cheap ? 5 : 3);
    std::string qty_text = std::to_string(qty);
    if (slot == 40) qty_text = "00" + qty_text;  // "007" is 7
    if (slot == 30) payment = "gift_card, promo";                  // quoted comma
    if (slot == 31 && index % 2 == 0) payment = "bank\ntransfer";  // quoted line break
    if (slot == 32) {                                                // every field quoted
      w.quoted(transaction_id(id), true);
      w.quoted(customer_id(cust));
      w.quoted(product_id(prod));
      w.quoted(qty_text);
      w.quoted(ts);
      w.quoted(kStatuses[status]);
      w.quoted(payment);
      w.end_line();
    } else {
      emit_row(w, transaction_id(id), customer_id(cust), product_id(prod), qty_text, ts,
               kStatuses[status], payment);
    }
    today.push(Seen{id, secs, cust, prod, status});
    if (slot == 50) w.end_line();  // a blank line
  }
  w.commit(final_newline);
  st.previous_days = today;
  return o.rows_per_day;
}

}  // namespace

GenStats generate(const GenOptions& o) {
  if (o.days < 0 || o.rows_per_day < 0 || o.customers < 1 || o.products < 1)
    throw std::runtime_error("days and rows must be >= 0, customers and products >= 1");
  std::int64_t first_day =
      days_from_civil(o.start_y, static_cast<unsigned>(o.start_m), static_cast<unsigned>(o.start_d));
  std::string start = date_text(first_day);
  GenStats stats;
  auto pause = [&] {
    if (o.rate > 0)
      std::this_thread::sleep_for(std::chrono::duration<double>(1.0 / o.rate));
  };
  const std::vector<CatalogProduct> catalog = make_catalog(o.products, o.seed);
  write_products(o, start, catalog);
  write_customers(o, start);
  stats.files = 2;
  DayState st;
  for (int i = 0; i < o.days; ++i) {
    pause();
    stats.rows += write_day(o, catalog, first_day + i, i, st);
    ++stats.files;
  }
  return stats;
}

}  // namespace hivehook::gen
