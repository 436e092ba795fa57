// fuzz-link: hivehook_s3
// Fuzzes the S3 request path: input is "METHOD TARGET\nName: value\n...\n\nBODY". The target is
// parsed and classified, its key checked, the request authenticated (SigV4, a fixed key and clock),
// and the body read as aws-chunked (chained to the request's signature when that verified) and as
// the two XML bodies clients send.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "s3/auth.h"
#include "s3/aws_chunked.h"
#include "s3/object_key.h"
#include "s3/request.h"
#include "s3/xml.h"

using namespace hivehook::s3;
namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t eol = in.find('\n');
  const std::string_view line = in.substr(0, eol);
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : in.substr(eol + 1);
  const std::size_t sp = line.find(' ');
  const std::string method(line.substr(0, sp));
  const std::string target(sp == std::string_view::npos ? std::string_view("/") : line.substr(sp + 1));

  bhttp::fields headers;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view h = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (h.empty()) break;
    const std::size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string name(h.substr(0, colon)), value(h.substr(colon + 1));
    if (name.find_first_of(" \t\r\0", 0, 4) != std::string::npos) continue;
    try {
      headers.insert(name, value);
    } catch (...) {
      continue;  // beast refuses some field names/values: a parser would have too
    }
  }
  const std::string_view body = rest;

  S3Error err;
  auto req = parse_target(target, &err);
  if (req) {
    std::string what;
    const Operation op = classify(bhttp::string_to_verb(method), *req, headers, &what);
    if (op == Operation::Unsupported && what.empty() && bhttp::string_to_verb(method) != bhttp::verb::unknown) std::abort();
    if (auto p = key_problem(req->key); p && p->code != "InvalidArgument") std::abort();
  } else if (err.code != "InvalidURI") {
    std::abort();
  }

  const Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1"};
  const auto now = *parse_amz_date("20130524T000000Z");
  auto auth = authenticate(AuthRequest{method, target, headers}, creds, now);
  std::optional<AwsChunkedDecoder::Signing> signing;
  if (auto* ok = std::get_if<Authorized>(&auth)) {
    if (ok->signing_key.size() != 32) std::abort();
    signing = AwsChunkedDecoder::Signing{ok->signing_key, ok->amz_date, ok->scope, ok->seed_signature};
  } else {
    const S3Error& e = std::get<S3Error>(auth);
    if (e.code.empty() || e.status < 400 || e.status > 599) std::abort();
  }

  for (bool trailer : {false, true}) {
    AwsChunkedDecoder d(signing, trailer);
    std::uint64_t out = 0;
    const bool ok = d.feed(body, [&](std::string_view p) {
      out += p.size();
      return true;
    });
    if (out != d.decoded_bytes()) std::abort();
    if (!ok && !d.error()) std::abort();
  }
  std::string why;
  (void)parse_complete_multipart(body, &why);
  (void)parse_delete(body, &why);
  return 0;
}
