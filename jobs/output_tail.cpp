#include "jobs/output_tail.h"

#include <algorithm>
#include <cstring>

namespace hivehook {

void OutputTail::append(std::string_view data) {
  total_ += data.size();
  if (cap_ == 0 || data.empty()) return;
  if (data.size() >= cap_) {  // the chunk alone fills the ring: keep its end
    buf_.assign(data.end() - static_cast<std::ptrdiff_t>(cap_), data.end());
    head_ = 0;
    return;
  }
  if (buf_.size() < cap_) {  // still filling: plain append, then ring for the rest
    std::size_t fill = std::min(data.size(), cap_ - buf_.size());
    buf_.insert(buf_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(fill));
    data.remove_prefix(fill);
    if (data.empty()) return;
  }
  // Full ring: overwrite the oldest bytes, in at most two copies.
  std::size_t first = std::min(data.size(), cap_ - head_);
  std::memcpy(buf_.data() + head_, data.data(), first);
  std::memcpy(buf_.data(), data.data() + first, data.size() - first);
  head_ = (head_ + data.size()) % cap_;
}

std::string OutputTail::str() const {
  if (buf_.size() < cap_ || head_ == 0) return std::string(buf_.begin(), buf_.end());
  std::string out;
  out.reserve(cap_);
  out.append(buf_.data() + head_, cap_ - head_);
  out.append(buf_.data(), head_);
  return out;
}

}  // namespace hivehook
