// Fuzzes the rules loader: any bytes as a rules file must give diagnostics, never a crash, hang
// or leak. The config is fixed and tiny (two notify targets) so notify names are exercised too.
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "rules/rule.h"

namespace {

// Never destroyed, so the atexit clean-up can still use it.
const std::filesystem::path& work_dir() {
  static const std::filesystem::path* dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hivehook-fuzz-rules-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    auto* p = new std::filesystem::path(tmpl);
    std::filesystem::create_directories(*p / "handlers");
    std::ofstream(*p / "handlers" / "etl.py") << "def handler(e, c): pass\n";
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(work_dir(), ec);
    });
    return p;
  }();
  return *dir;
}

const hivehook::Config& tiny_config() {
  static const hivehook::Config config = [] {
    hivehook::Config c;
    c.file = work_dir() / "hivehook.yaml";
    c.landing = work_dir() / "landing";
    c.rules = work_dir() / "r.yaml";
    for (const char* name : {"ops-hook", "ops-mail"}) {
      hivehook::NotifyTarget t;
      t.name = name;
      c.notify[name] = t;
    }
    return c;
  }();
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = work_dir() / "r.yaml";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  hivehook::Diagnostics diags;
  auto rules = hivehook::load_rules(file, tiny_config(), diags);
  // A rejected file always says why; an accepted one has no errors.
  if (!rules && !diags.has_errors()) __builtin_trap();
  if (rules && diags.has_errors()) __builtin_trap();
  for (const auto& d : diags.items()) (void)d.str();
  if (rules) {
    auto key = hivehook::parse_key("t/year=2023/month=03/x.csv");
    if (key) (void)hivehook::match_rules(*rules, *key);
  }
  return 0;
}
