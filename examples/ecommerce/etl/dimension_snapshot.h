// The dimensions as the transform sees them: one flat, relocatable byte buffer (a "snapshot")
// holding both id indexes and the attributes enrichment copies. The warehouse stores the buffer
// beside the dimension tables, keyed by their version, so a transactions job loads 100,000
// customers with one read instead of rebuilding hash tables from the tables every run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hivehook::etl {

// What enrichment takes from dim_products; views into the snapshot.
struct ProductRef {
  std::string_view name, category, price, supplier_id;  // price: the stored (normalized) text
  std::int64_t price_e4 = 0;                            // the same price in 1/10000
};

// What enrichment takes from dim_customers.
struct CustomerRef {
  std::string_view membership_level, country;
};

// Read-only lookups over a snapshot buffer. Cheap to move; lookups are thread-safe.
//
// Layout (native byte order, x86-64: little-endian; a buffer of another byte order fails the
// magic check and is rebuilt; offsets in bytes; values 32-bit unless said):
//   header     magic "HHDS", format 3, products, customers, attrs, product_slots,
//              customer_slots, text_bytes, checksum of everything after the header (64-bit)
//   slots      per index an open-addressing table (linear probing, at most 2/3 full, start slot
//              = hash × slots >> 32), 16 bytes a slot: hash, (min(id length, 255) << 24 |
//              record + 1) (0 = empty), the id's first 8 bytes zero-padded (64-bit). An id of up
//              to 8 bytes is matched within its slot: one cache line per lookup
//   products   {id_off, id_len, name_off, name_len, category_off, category_len, price_off,
//              price_len, supplier_off, supplier_len, price_e4 (64-bit)} (offsets into the text)
//   customers  {id_off, id_len}, then one attr index per customer, then the attrs
//              {level_off, level_len, country_off, country_len}: 100,000 customers share a few
//              dozen (membership_level, country) pairs
//   text       the strings
class Dimensions {
 public:
  static constexpr std::uint32_t npos = UINT32_MAX;

  Dimensions();  // empty: no products, no customers

  // Adopts a buffer made by DimensionsBuilder (possibly read back from a warehouse). nullopt when
  // it is not a snapshot of this format: the checksum, every count, offset and index are checked,
  // so a damaged buffer is rejected rather than read out of bounds or trusted.
  // `bytes` may share ownership of something larger (a PostgreSQL result): nothing is copied.
  static std::optional<Dimensions> from_snapshot(std::shared_ptr<const char[]> bytes, std::size_t size);
  static std::optional<Dimensions> from_snapshot(std::string_view bytes);  // copies
  std::string_view snapshot() const { return std::string_view(buf_.get(), size_); }

  std::uint32_t find_product(std::string_view id) const;   // npos when unknown
  std::uint32_t find_customer(std::string_view id) const;  // npos when unknown
  ProductRef product_at(std::uint32_t i) const;            // i < product_count()
  CustomerRef customer_at(std::uint32_t i) const;          // i < customer_count()
  std::size_t product_count() const { return n_products_; }
  std::size_t customer_count() const { return n_customers_; }

 private:
  std::uint32_t find(std::string_view id, std::size_t slots_at, std::uint32_t n_slots,
                     std::size_t ids_at, std::size_t rec_bytes) const;
  std::uint32_t word(std::size_t byte_at) const;
  std::string_view text(std::uint32_t off, std::uint32_t len) const {
    return std::string_view(buf_.get() + text_at_ + off, len);
  }

  std::shared_ptr<const char[]> buf_;  // never zero-filled or copied: 5 MB read straight into it
  std::size_t size_ = 0;
  std::uint32_t n_products_ = 0, n_customers_ = 0, n_attrs_ = 0, product_slots_ = 0,
                customer_slots_ = 0;
  std::size_t product_slots_at_ = 0, customer_slots_at_ = 0, products_at_ = 0, customers_at_ = 0,
              customer_attr_at_ = 0, attrs_at_ = 0, text_at_ = 0;
};

// Collects dimension rows (a later row for an id replaces the earlier one) and lays out a
// snapshot. Rows are kept as they will be stored (one text arena, fixed-size records), so
// building from 100,000 customers takes about twice the snapshot's size, not a map per id.
class DimensionsBuilder {
 public:
  void reserve(std::size_t products, std::size_t customers);
  void add_product(std::string_view id, std::string_view name, std::string_view category,
                   std::string_view price, std::int64_t price_e4, std::string_view supplier_id);
  void add_customer(std::string_view id, std::string_view membership_level, std::string_view country);
  // Throws std::length_error past 16,777,214 products or customers or 4 GiB of text.
  Dimensions build() const;

 private:
  struct Span {
    std::uint32_t off, len;
  };
  struct Product {
    Span id, name, category, price, supplier_id;
    std::int64_t price_e4;
  };
  struct Customer {
    Span id;
    std::uint32_t attr;
  };
  Span keep(std::string_view s);
  std::string_view at(Span s) const { return std::string_view(text_).substr(s.off, s.len); }

  std::string text_;
  std::vector<Product> products_;
  std::vector<Customer> customers_;
  std::vector<Span> attrs_;  // (membership_level, country) pairs: level at 2i, country at 2i+1
  std::unordered_map<std::string, std::uint32_t> attr_at_;  // a few dozen pairs
};

// The snapshot's checksum: four 64-bit multiply-xorshift lanes over 8-byte words (the tail
// zero-padded); about 0.3 ms for 4 MB.
std::uint64_t snapshot_checksum(std::string_view bytes);

// The ids' hash: 8 bytes at a time (zero-padded), multiply-xorshift mixed, folded to 32 bits.
// The snapshot format depends on it.
std::uint32_t snapshot_hash(std::string_view key);

}  // namespace hivehook::etl
