// `argonaut account` (Argo CD's account tokens) and `argonaut auth can-i` (kubectl's).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace argonaut::cli {

// account list | create-token [--account A] [--expires-in D] | delete-token ID [--account A]
int RunAccount(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// auth can-i ACTION RESOURCE [NAMESPACE/NAME]: prints yes or no; exit 0 for yes, 1 for no.
int RunAuth(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// "24h", "30m", "90s", "7d" (days, which Go durations lack), "0" (never expires).
bool ParseExpiresIn(const std::string& text, int64_t* seconds);

}  // namespace argonaut::cli
