// `hivehook manpages --out DIR` (hidden; run by the build): write hivehook.1 and hivehook-<command>.1.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "app/cli_app.h"
#include "app/man_page.h"

namespace hivehook::cli {

void add_manpages(CLI::App& app, Globals& g) {
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("manpages", "Write the man pages (roff) into DIR; the build runs this.");
  cmd->group("");  // hidden: not a command for operators
  cmd->add_option("--out", *out, "folder to write hivehook.1 and hivehook-COMMAND.1 into")->required()->type_name("DIR");
  cmd->preparse_callback([&g](std::size_t) { g.command = "manpages"; });
  cmd->callback([&app, &g, out] {
    std::error_code ec;
    std::filesystem::create_directories(*out, ec);
    for (const auto& page : man_pages(app, program_doc())) {
      std::filesystem::path file = std::filesystem::path(*out) / page.file_name;
      std::ofstream f(file, std::ios::binary | std::ios::trunc);
      f << page.text;
      if (!f.flush()) {
        error(g) << "cannot write " << file.string() << "\n";
        g.exit_code = kExitFailure;
        return;
      }
    }
  });
}

}  // namespace hivehook::cli
