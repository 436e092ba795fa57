// libFuzzer entry point for HOST:PORT listen addresses (base/host_port.h), the one parser behind
// http.listen, metrics:, s3.listen and the CLI's client: the whole input is the text.
// A parsed address has a host without brackets or with a colon only when IPv6, and local_url()
// of it parses back to the same host and port.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/host_port.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::string err;
  auto hp = hivehook::parse_host_port(in, &err);
  if (!hp) {
    if (err.empty()) std::abort();
    return 0;
  }
  if (hp->host.empty()) std::abort();
  const bool v6 = in.front() == '[';
  if (!v6 && hp->host.find(':') != std::string::npos) std::abort();
  if (hp->host == "0.0.0.0" || hp->host == "::") return 0;  // local_url maps wildcards to loopback
  const std::string url = hivehook::local_url(*hp, hp->port);
  auto again = hivehook::parse_host_port(url.substr(7), &err);
  if (!again || again->host != hp->host || again->port != hp->port) std::abort();
  return 0;
}
