#include "etl/dimension_snapshot.h"

#include <cstring>
#include <stdexcept>

namespace hivehook::etl {

namespace {

constexpr std::uint32_t kMagic = 0x53444848;  // "HHDS" read as a little-endian word
constexpr std::uint32_t kFormat = 3;
constexpr std::size_t kHeaderBytes = 8 * 4 + 8;
constexpr std::size_t kSlotBytes = 16;
constexpr std::size_t kProductBytes = 48;  // 10 words + a 64-bit price
constexpr std::size_t kIdBytes = 8;        // a customer: id offset and length
constexpr std::size_t kAttrBytes = 16;
constexpr std::uint32_t kMaxRecords = (1u << 24) - 2;  // the record number shares a word with the length

std::uint32_t slots_for(std::size_t n) { return static_cast<std::uint32_t>(n + n / 2 + 1); }

// The first 8 bytes of an id, zero-padded (ids hold no NUL: dimension files with one fail).
std::uint64_t head8(std::string_view id) {
  std::uint64_t w = 0;
  std::memcpy(&w, id.data(), id.size() < 8 ? id.size() : 8);
  return w;
}

std::uint32_t length_tag(std::size_t len) { return static_cast<std::uint32_t>(len < 255 ? len : 255) << 24; }

std::uint32_t start_slot(std::uint32_t hash, std::uint32_t n_slots) {
  return static_cast<std::uint32_t>((std::uint64_t{hash} * n_slots) >> 32);
}

}  // namespace

std::uint32_t snapshot_hash(std::string_view key) {
  std::uint64_t h = key.size() * 0x9E3779B97F4A7C15ULL;
  std::size_t i = 0;
  do {
    std::uint64_t w = 0;
    std::size_t take = key.size() - i < 8 ? key.size() - i : 8;
    std::memcpy(&w, key.data() + i, take);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 29;
    i += 8;
  } while (i < key.size());
  h *= 0x94D049BB133111EBULL;
  return static_cast<std::uint32_t>(h >> 32);
}

std::uint64_t snapshot_checksum(std::string_view bytes) {
  std::uint64_t lane[4] = {1, 2, 3, 4};
  std::size_t i = 0;
  for (; i + 32 <= bytes.size(); i += 32) {
    for (int k = 0; k < 4; ++k) {
      std::uint64_t w;
      std::memcpy(&w, bytes.data() + i + 8 * k, 8);
      lane[k] = (lane[k] ^ w) * 0x9E3779B97F4A7C15ULL;
      lane[k] ^= lane[k] >> 31;
    }
  }
  std::uint64_t h = bytes.size();
  for (; i < bytes.size(); i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, bytes.data() + i, bytes.size() - i < 8 ? bytes.size() - i : 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
  }
  for (std::uint64_t l : lane) h = (h ^ l) * 0x94D049BB133111EBULL, h ^= h >> 29;
  return h;
}

Dimensions::Dimensions() = default;

std::uint32_t Dimensions::word(std::size_t at) const {
  std::uint32_t v;
  std::memcpy(&v, buf_.get() + at, 4);
  return v;
}

std::optional<Dimensions> Dimensions::from_snapshot(std::string_view bytes) {
  std::shared_ptr<char[]> copy = std::make_shared_for_overwrite<char[]>(bytes.size());
  std::memcpy(copy.get(), bytes.data(), bytes.size());
  return from_snapshot(std::move(copy), bytes.size());
}

std::optional<Dimensions> Dimensions::from_snapshot(std::shared_ptr<const char[]> bytes, std::size_t size) {
  Dimensions d;
  d.buf_ = std::move(bytes);
  d.size_ = size;
  if (size < kHeaderBytes || d.word(0) != kMagic || d.word(4) != kFormat) return std::nullopt;
  std::uint64_t checksum;
  std::memcpy(&checksum, d.buf_.get() + 32, 8);
  if (checksum != snapshot_checksum(std::string_view(d.buf_.get() + kHeaderBytes, size - kHeaderBytes)))
    return std::nullopt;
  d.n_products_ = d.word(8);
  d.n_customers_ = d.word(12);
  d.n_attrs_ = d.word(16);
  d.product_slots_ = d.word(20);
  d.customer_slots_ = d.word(24);
  const std::uint64_t text_bytes = d.word(28);
  if (d.n_products_ > kMaxRecords || d.n_customers_ > kMaxRecords ||
      d.product_slots_ != slots_for(d.n_products_) || d.customer_slots_ != slots_for(d.n_customers_))
    return std::nullopt;
  // Section sizes in 64 bits: a damaged count cannot wrap around.
  std::uint64_t at = kHeaderBytes;
  d.product_slots_at_ = at;
  at += std::uint64_t{d.product_slots_} * kSlotBytes;
  d.customer_slots_at_ = at;
  at += std::uint64_t{d.customer_slots_} * kSlotBytes;
  d.products_at_ = at;
  at += std::uint64_t{d.n_products_} * kProductBytes;
  d.customers_at_ = at;
  at += std::uint64_t{d.n_customers_} * kIdBytes;
  d.customer_attr_at_ = at;
  at += std::uint64_t{d.n_customers_} * 4;
  d.attrs_at_ = at;
  at += std::uint64_t{d.n_attrs_} * kAttrBytes;
  d.text_at_ = at;
  if (at + text_bytes != size) return std::nullopt;

  auto span_ok = [&](std::size_t rec, int pairs) {
    for (int p = 0; p < pairs; ++p) {
      std::uint64_t off = d.word(rec + p * 8), len = d.word(rec + p * 8 + 4);
      if (off + len > text_bytes) return false;
    }
    return true;
  };
  for (std::uint32_t i = 0; i < d.n_products_; ++i)
    if (!span_ok(d.products_at_ + std::size_t{i} * kProductBytes, 5)) return std::nullopt;
  for (std::uint32_t i = 0; i < d.n_customers_; ++i)
    if (!span_ok(d.customers_at_ + std::size_t{i} * kIdBytes, 1) ||
        d.word(d.customer_attr_at_ + std::size_t{i} * 4) >= d.n_attrs_)
      return std::nullopt;
  for (std::uint32_t i = 0; i < d.n_attrs_; ++i)
    if (!span_ok(d.attrs_at_ + std::size_t{i} * kAttrBytes, 2)) return std::nullopt;
  // Every used slot names a record, and exactly n are used: probing always meets an empty slot.
  auto slots_ok = [&](std::size_t slots_at, std::uint32_t n_slots, std::uint32_t n) {
    std::uint32_t used = 0;
    for (std::uint32_t s = 0; s < n_slots; ++s) {
      const std::uint32_t meta = d.word(slots_at + std::size_t{s} * kSlotBytes + 4);
      if (meta == 0) continue;
      if ((meta & 0xFFFFFF) > n) return false;
      ++used;
    }
    return used == n;
  };
  if (!slots_ok(d.product_slots_at_, d.product_slots_, d.n_products_) ||
      !slots_ok(d.customer_slots_at_, d.customer_slots_, d.n_customers_))
    return std::nullopt;
  return d;
}

std::uint32_t Dimensions::find(std::string_view id, std::size_t slots_at, std::uint32_t n_slots,
                               std::size_t ids_at, std::size_t rec_bytes) const {
  if (n_slots == 0) return npos;
  const std::uint32_t h = snapshot_hash(id);
  const std::uint32_t tag = length_tag(id.size());
  const std::uint64_t head = head8(id);
  const char* base = buf_.get() + slots_at;
  for (std::uint32_t at = start_slot(h, n_slots);;) {
    struct {
      std::uint32_t hash, meta;
      std::uint64_t head;
    } slot;
    std::memcpy(&slot, base + std::size_t{at} * kSlotBytes, kSlotBytes);
    if (slot.meta == 0) return npos;
    if (slot.hash == h && (slot.meta & 0xFF000000u) == tag && slot.head == head) {
      const std::uint32_t rec = (slot.meta & 0xFFFFFF) - 1;
      if (id.size() <= 8) return rec;
      const std::size_t r = ids_at + std::size_t{rec} * rec_bytes;
      if (text(word(r), word(r + 4)) == id) return rec;
    }
    if (++at == n_slots) at = 0;
  }
}

std::uint32_t Dimensions::find_product(std::string_view id) const {
  return find(id, product_slots_at_, product_slots_, products_at_, kProductBytes);
}

std::uint32_t Dimensions::find_customer(std::string_view id) const {
  return find(id, customer_slots_at_, customer_slots_, customers_at_, kIdBytes);
}

ProductRef Dimensions::product_at(std::uint32_t i) const {
  std::size_t rec = products_at_ + std::size_t{i} * kProductBytes;
  ProductRef p{text(word(rec + 8), word(rec + 12)), text(word(rec + 16), word(rec + 20)),
               text(word(rec + 24), word(rec + 28)), text(word(rec + 32), word(rec + 36)), 0};
  std::memcpy(&p.price_e4, buf_.get() + rec + 40, 8);
  return p;
}

CustomerRef Dimensions::customer_at(std::uint32_t i) const {
  std::size_t attr = attrs_at_ + std::size_t{word(customer_attr_at_ + std::size_t{i} * 4)} * kAttrBytes;
  return CustomerRef{text(word(attr), word(attr + 4)), text(word(attr + 8), word(attr + 12))};
}

void DimensionsBuilder::reserve(std::size_t products, std::size_t customers) {
  products_.reserve(products);
  customers_.reserve(customers);
  text_.reserve(products * 40 + customers * 8);
}

DimensionsBuilder::Span DimensionsBuilder::keep(std::string_view s) {
  if (text_.size() + s.size() > UINT32_MAX)
    throw std::length_error("dimension snapshot: more than 4 GiB of text");
  Span span{static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(s.size())};
  text_.append(s);
  return span;
}

void DimensionsBuilder::add_product(std::string_view id, std::string_view name,
                                    std::string_view category, std::string_view price,
                                    std::int64_t price_e4, std::string_view supplier_id) {
  products_.push_back(Product{keep(id), keep(name), keep(category), keep(price), keep(supplier_id), price_e4});
}

void DimensionsBuilder::add_customer(std::string_view id, std::string_view membership_level,
                                     std::string_view country) {
  std::string key(membership_level);
  key += '\0';
  key += country;
  auto [a, fresh] = attr_at_.try_emplace(key, static_cast<std::uint32_t>(attrs_.size() / 2));
  if (fresh) {
    attrs_.push_back(keep(membership_level));
    attrs_.push_back(keep(country));
  }
  customers_.push_back(Customer{keep(id), a->second});
}

Dimensions DimensionsBuilder::build() const {
  // Which rows are written: a later row with an id already seen takes its place; the kept rows
  // keep file order and are renumbered.
  auto keep_last = [](std::size_t n, auto&& id_of) {
    const std::uint32_t n_slots = slots_for(n);
    std::vector<std::uint32_t> slot_row(n_slots, UINT32_MAX);
    for (std::size_t i = 0; i < n; ++i) {
      std::string_view id = id_of(i);
      for (std::uint32_t s = start_slot(snapshot_hash(id), n_slots);;) {
        if (slot_row[s] == UINT32_MAX || id_of(slot_row[s]) == id) {
          slot_row[s] = static_cast<std::uint32_t>(i);
          break;
        }
        if (++s == n_slots) s = 0;
      }
    }
    std::vector<bool> keep(n, false);
    for (std::uint32_t r : slot_row)
      if (r != UINT32_MAX) keep[r] = true;
    std::vector<std::uint32_t> kept;
    for (std::size_t i = 0; i < n; ++i)
      if (keep[i]) kept.push_back(static_cast<std::uint32_t>(i));
    if (kept.size() > kMaxRecords)
      throw std::length_error("dimension snapshot: more than 16,777,214 products or customers");
    return kept;
  };
  auto product_id = [&](std::size_t i) { return at(products_[i].id); };
  auto customer_id = [&](std::size_t i) { return at(customers_[i].id); };
  const std::vector<std::uint32_t> pk = keep_last(products_.size(), product_id);
  const std::vector<std::uint32_t> ck = keep_last(customers_.size(), customer_id);
  const std::uint32_t pslots = slots_for(pk.size()), cslots = slots_for(ck.size());

  // Written straight into the buffer the Dimensions adopts: no second copy of megabytes.
  const std::size_t size = kHeaderBytes + (std::size_t{pslots} + cslots) * kSlotBytes +
                           pk.size() * kProductBytes + ck.size() * (kIdBytes + 4) +
                           attrs_.size() * 8 + text_.size();
  std::shared_ptr<char[]> bytes = std::make_shared_for_overwrite<char[]>(size);
  char* out = bytes.get();
  auto put = [&](const void* p, std::size_t n) {
    std::memcpy(out, p, n);
    out += n;
  };
  auto put_word = [&](std::uint32_t w) { put(&w, 4); };
  for (std::uint32_t w : {kMagic, kFormat, static_cast<std::uint32_t>(pk.size()),
                          static_cast<std::uint32_t>(ck.size()),
                          static_cast<std::uint32_t>(attrs_.size() / 2), pslots, cslots,
                          static_cast<std::uint32_t>(text_.size())})
    put_word(w);
  const std::uint64_t no_checksum_yet = 0;
  put(&no_checksum_yet, 8);
  auto slot_table = [&](const std::vector<std::uint32_t>& kept, std::uint32_t n_slots, auto&& id_of) {
    char* table = out;
    std::memset(table, 0, std::size_t{n_slots} * kSlotBytes);
    for (std::uint32_t k = 0; k < kept.size(); ++k) {
      std::string_view id = id_of(kept[k]);
      const std::uint32_t h = snapshot_hash(id);
      for (std::uint32_t s = start_slot(h, n_slots);;) {
        char* slot = table + std::size_t{s} * kSlotBytes;
        std::uint32_t meta;
        std::memcpy(&meta, slot + 4, 4);
        if (meta == 0) {
          meta = length_tag(id.size()) | (k + 1);
          std::uint64_t head = head8(id);
          std::memcpy(slot, &h, 4);
          std::memcpy(slot + 4, &meta, 4);
          std::memcpy(slot + 8, &head, 8);
          break;
        }
        if (++s == n_slots) s = 0;
      }
    }
    out += std::size_t{n_slots} * kSlotBytes;
  };
  slot_table(pk, pslots, product_id);
  slot_table(ck, cslots, customer_id);
  auto span = [&](Span s) {
    put_word(s.off);
    put_word(s.len);
  };
  for (std::uint32_t i : pk) {
    const Product& p = products_[i];
    for (Span s : {p.id, p.name, p.category, p.price, p.supplier_id}) span(s);
    put(&p.price_e4, 8);
  }
  for (std::uint32_t i : ck) span(customers_[i].id);
  for (std::uint32_t i : ck) put_word(customers_[i].attr);
  for (Span s : attrs_) span(s);
  put(text_.data(), text_.size());
  std::uint64_t checksum =
      snapshot_checksum(std::string_view(bytes.get() + kHeaderBytes, size - kHeaderBytes));
  std::memcpy(bytes.get() + 32, &checksum, 8);
  return *Dimensions::from_snapshot(std::move(bytes), size);
}

}  // namespace hivehook::etl
