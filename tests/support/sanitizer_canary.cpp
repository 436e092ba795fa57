// sanitizer_canary: a process that commits one fault on purpose, built only in a
// -DHIVEHOOK_SANITIZE=ON build, so that the sanitizer job proves its own gate: a report written by a
// child of a test (here the canary, in the system tests the daemon or the CLI) fails that test
// (tests/support/fail-on-sanitizer-report; ctest sanitizer.*).
//
// Usage: sanitizer_canary use-after-free | leak | signed-overflow | none
// Exit status: 0 for `none`; for a fault, whatever the sanitizer makes it (ASan aborts, LSan exits
// 23 by default, UBSan with -fno-sanitize-recover exits 1); 2 for an unknown argument.
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

// The argument is read at run time so that the compiler cannot see (or fold away) the fault.
// The pointer goes through a volatile so that the optimiser cannot elide the new/delete pair.
int use_after_free() {
  int* volatile p = new int[4]{1, 2, 3, 4};
  delete[] p;
  return p[2];  // heap-use-after-free
}

int leak() {
  char* p = new char[4096];
  std::memset(p, 'x', 4096);
  std::printf("%c\n", p[100]);
  p = nullptr;  // lost: LeakSanitizer reports it at exit
  return 0;
}

int signed_overflow(int start) {
  return start + INT_MAX;  // UBSan: signed integer overflow, for start >= 1
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sanitizer_canary use-after-free|leak|signed-overflow|none\n");
    return 2;
  }
  const std::string what = argv[1];
  if (what == "use-after-free") return use_after_free();
  if (what == "leak") return leak();
  if (what == "signed-overflow") return signed_overflow(argc - 1) > 0 ? 0 : 1;
  if (what == "none") return 0;
  std::fprintf(stderr, "sanitizer_canary: unknown fault %s\n", argv[1]);
  return 2;
}
