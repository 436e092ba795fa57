// Move-only owners for libcurl handles, and the one-time global initialisation.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string>
#include <utility>

namespace hivehook::notify_detail {

// curl_global_init once per process (it is not thread-safe in every libcurl build).
void curl_global_once();

// A delivery never blocks its worker forever: a zero (or negative) timeout means 60 s.
inline std::chrono::milliseconds bounded_timeout(std::chrono::milliseconds t) {
  return t.count() > 0 ? t : std::chrono::milliseconds(60000);
}

class CurlEasy {
 public:
  CurlEasy() : h_(curl_easy_init()) {}
  ~CurlEasy() {
    if (h_) curl_easy_cleanup(h_);
  }
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;
  CURL* get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }

 private:
  CURL* h_;
};

class CurlList {
 public:
  CurlList() = default;
  ~CurlList() { curl_slist_free_all(list_); }
  CurlList(const CurlList&) = delete;
  CurlList& operator=(const CurlList&) = delete;
  // False when libcurl could not allocate.
  bool append(const std::string& item) {
    curl_slist* next = curl_slist_append(list_, item.c_str());
    if (!next) return false;
    list_ = next;
    return true;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

}  // namespace hivehook::notify_detail
