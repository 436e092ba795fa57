// The names a Lambda function is configured with: runtime identifiers and handler strings, checked
// as AWS Lambda takes them (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hivehook {

// What kind of program an execution environment runs.
enum class LambdaRuntimeFamily {
  python,    // hivehook's Python bootstrap: "python3", "python3.X" (AWS: python3.12)
  nodejs,    // hivehook's Node.js bootstrap: "nodejs", "nodejsNN.x" (AWS: nodejs20.x)
  provided,  // the function's own `bootstrap` executable: "provided", "provided.al2023", "provided.al2"
};

// The family of a runtime identifier; nullopt when it is none hivehook runs.
std::optional<LambdaRuntimeFamily> lambda_runtime_family(std::string_view runtime);

// Why `handler` is not a handler string the runtime's bootstrap can resolve, or nullopt.
// python: "MODULE.FUNCTION" where MODULE is dotted and/or '/'-separated Python identifiers
//   ("app.handler", "src/hello_world/app.lambda_handler", "src/hello_world.app.lambda_handler"),
//   resolved as AWS's Python runtime does: rsplit at the last '.', then '/' -> '.' and import.
// nodejs: "FILE.FUNCTION" where FILE is a relative path without "..", FUNCTION a property path
//   ("index.handler", "src/app.handler", "app.nested.fn"), as AWS's Node.js runtime splits it
//   (the module ends at the first '.' after the last '/').
// provided: anything non-empty (the custom runtime reads $_HANDLER itself).
std::optional<std::string> lambda_handler_problem(LambdaRuntimeFamily family, std::string_view handler);

// The file a handler's module is expected in, relative to the code folder, for `check` warnings:
// python "src/hello_world/app.py" (or a package's __init__.py), nodejs "src/app" (+ .js/.mjs/.cjs);
// empty for provided.
std::string lambda_handler_module_path(LambdaRuntimeFamily family, std::string_view handler);

}  // namespace hivehook
