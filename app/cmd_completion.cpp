// `hivehook completion bash|zsh`: print the shell completion script (generated from the command tree).
#include <iostream>

#include "app/cli_support.h"
#include "app/completion.h"

namespace hivehook::cli {

void add_completion(CLI::App& app, Globals& g) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = add_command(
      app, g,
      {.name = "completion",
       .summary = "Print the bash or zsh completion script",
       .details = "The packages install both (bash: /usr/share/bash-completion/completions/hivehook, zsh: "
                  "/usr/share/zsh/vendor-completions/_hivehook). Without them, load one into the current shell.",
       .exit_status = "0 printed; 2 an unknown shell.",
       .examples = "  source <(hivehook completion bash)\n"
                   "  hivehook completion zsh > ~/.zfunc/_hivehook",
       .words = {"bash", "zsh"},
       .reads_config = false});
  cmd->add_option("SHELL", *shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([&app, shell] {
    std::cout << (*shell == "bash" ? bash_completion(app) : zsh_completion(app));
  });
}

}  // namespace hivehook::cli
