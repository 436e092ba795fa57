// fuzz-link: hivehook_api
// libFuzzer entry point for the HTTP inputs hivehook parses itself (Boost.Beast parses requests):
// query strings, Last-Event-ID, bearer tokens and the console's token cookie (http.read_auth),
// partition filters, path parameters, replay/retry
// bodies, and the job output the API and notifications turn into readable excerpts.
// The first byte picks the parser; the rest is its input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/params.h"
#include "api/read_auth.h"
#include "jobs/output_excerpt.h"

using namespace hivehook;
using namespace hivehook::api;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned which = data[0] % 7;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (which) {
    case 0: {
      Query q = parse_query(in, 16);
      if (q.size() > 16) std::abort();
      for (const auto& [name, value] : q)
        if (name.size() > in.size() || value.size() > in.size()) std::abort();  // decoding never grows
      (void)query_value(q, "key");
      break;
    }
    case 1: {
      auto id = parse_event_id(in);
      if (id && *id < 0) std::abort();
      auto n = parse_int(in, -5, 5);
      if (n && (*n < -5 || *n > 5)) std::abort();
      (void)parse_flag(in);
      break;
    }
    case 2: {
      auto t = bearer_token(in);
      if (t && (t->empty() || t->find_first_of(" \t\r\n") != std::string::npos)) std::abort();
      if (t && !token_matches(*t, *t)) std::abort();
      // The same bytes as a Cookie: header: the token cookie's value, percent-decoded, never grows.
      auto c = cookie_value(in, kTokenCookie);
      if (c && c->size() > in.size()) std::abort();
      break;
    }
    case 3: {
      std::string err;
      auto p = parse_partition_filter(in, &err);
      if (p && (p->first.empty() || p->first.find_first_of("=/") != std::string::npos ||
                p->second.find('/') != std::string::npos))
        std::abort();
      if (!p && err.empty()) std::abort();
      break;
    }
    case 4: {
      auto v = path_parameter(in, "/api/v1/runs/");
      if (v && v->empty()) std::abort();
      break;
    }
    case 5: {
      std::string err;
      for (bool retry : {false, true}) {
        auto r = parse_replay_body(in, retry, &err);
        if (!r && err.empty()) std::abort();
        if (r && retry && !r->filter.failed_only) std::abort();
        if (r && r->filter.from.has_value() != r->filter.to.has_value()) std::abort();
      }
      break;
    }
    case 6: {
      if (in.size() > 8192) return 0;  // tails are bounded (64 KiB); keep the regexes' time per input small
      std::string x = output_excerpt(in, 5, 200, Redactor({"secret-value"}));
      if (x.find("secret-value") != std::string::npos) std::abort();
      // "…\n" + at most 200 bytes of lines (each grown at most 4x by \xNN escapes) + the mask's "***"s
      if (x.size() > 4 + 4 * 200 + 4 * 200) std::abort();
      break;
    }
  }
  return 0;
}
