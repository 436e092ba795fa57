#include "notify/curl_easy.h"

#include <mutex>

namespace hivehook::notify_detail {

void curl_global_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace hivehook::notify_detail
