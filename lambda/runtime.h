// Which program an execution environment runs for a function: hivehook's Python or Node.js
// bootstrap (each speaks the Lambda Runtime API), or a custom runtime's own `bootstrap`.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rules/lambda_function.h"
#include "rules/rule.h"

namespace hivehook::lambda {

// The argv that starts one execution environment of `job`:
//   python:   [INTERPRETER, <share>/lambda/python/bootstrap.py]   INTERPRETER = `python:`, else
//             /usr/bin/python3 (or /usr/bin/python3.X), else python3 (python3.X) looked up on PATH
//   nodejs:   [node, <share>/lambda/nodejs/bootstrap.mjs]
//   provided: [<code>/bootstrap]  (as AWS runs provided.al2023: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html)
// nullopt + *error when the runtime identifier is unknown.
std::optional<std::vector<std::string>> environment_argv(const LambdaJob& job, std::string* error);

// AWS_EXECUTION_ENV as Lambda sets it ("AWS_Lambda_python3.12", "AWS_Lambda_nodejs20.x"); empty for
// custom runtimes (AWS leaves it unset for provided.*). Short forms map to "AWS_Lambda_python3" and
// "AWS_Lambda_nodejs".
std::string execution_env(const LambdaJob& job);

// Where hivehook's bootstrap for a family lives: `$HIVEHOOK_LAMBDA_RUNTIMES/<family>/<file>` when
// that variable is set, else the installed share folder beside the binary
// (`<prefix>/share/hivehook/lambda/...`), else the configured install prefix, else the source tree.
std::filesystem::path bootstrap_path(LambdaRuntimeFamily family);

}  // namespace hivehook::lambda
