// The literal secrets masked at every outlet by the one Redactor (base/redactor.h). Computed once
// per load of the config and rules (RuleSet::secrets, RuleSet::redactor), never per message.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rules/config.h"

namespace hivehook {

// True for an environment variable name that holds a credential by its name: it contains
// PASSWORD, PASSWD, SECRET, TOKEN, CREDENTIAL, PRIVATE_KEY, ACCESS_KEY, API_KEY/APIKEY or AUTH
// (any case), e.g. DB_PASSWORD, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, GITHUB_TOKEN; but not
// an identifier's name, ending in _ID or KEYID (AWS_ACCESS_KEY_ID: it names the key).
bool credential_name(std::string_view name);

// The secrets a config holds: webhook secrets and header values, SMTP passwords, the password of
// a notify target's URL (base/url_password.h), the HTTP token,
// the S3 API's secret_access_key (jobs and Lambda functions are handed it), the password of a
// postgresql:// state URL, the value of every ${VAR} in a notify target (Config::secret_values).
std::vector<std::string> config_secrets(const Config& c);

// The values of the credential-named variables (credential_name) in `env`, e.g. a rule's
// job.env, or this process's environment, which every job inherits. Values maskable_secret()
// (base/redactor.h) refuses are left out: too short or a plain word.
std::vector<std::string> environment_secrets(const std::map<std::string, std::string>& env);

// This process's environment (environ) as a map.
std::map<std::string, std::string> process_environment();

}  // namespace hivehook
