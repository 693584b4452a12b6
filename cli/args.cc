#include "cli/args.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace argonaut::cli {

std::string Args::Get(std::string_view name, std::string_view fallback) const {
  auto it = values.find(std::string(name));
  if (it == values.end() || it->second.empty()) return std::string(fallback);
  return it->second.back();
}

const std::vector<std::string>& Args::All(std::string_view name) const {
  static const std::vector<std::string> kEmpty;
  auto it = values.find(std::string(name));
  return it == values.end() ? kEmpty : it->second;
}

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<FlagSpec>& specs) {
  Args out;
  auto find = [&](std::string_view name, bool is_short) -> const FlagSpec* {
    for (const FlagSpec& s : specs) {
      if ((is_short ? s.short_name : s.name) == name) return &s;
    }
    return nullptr;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      for (++i; i < argv.size(); ++i) out.positional.push_back(argv[i]);
      break;
    }
    if (a.size() < 2 || a[0] != '-' || a == "-") {
      out.positional.push_back(a);
      continue;
    }
    const bool is_long = absl::StartsWith(a, "--");
    std::string body = a.substr(is_long ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
      has_value = true;
    }
    const FlagSpec* spec = body.empty() ? nullptr : find(body, !is_long);
    if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag: ", a));
    if (!spec->takes_value) {
      if (has_value) {
        return absl::InvalidArgumentError(absl::StrCat("flag ", a, " takes no value"));
      }
      out.values[spec->name].push_back("true");
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(absl::StrCat("flag needs an argument: ", a));
      }
      value = argv[++i];
    }
    auto& slot = out.values[spec->name];
    if (!spec->repeated) slot.clear();
    slot.push_back(value);
  }
  return out;
}

}  // namespace argonaut::cli
