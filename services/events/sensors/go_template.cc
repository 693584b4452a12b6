#include "services/events/sensors/go_template.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/events/sensors/json_path.h"

namespace argonaut::events::sensors {

absl::StatusOr<std::string> RenderGoTemplate(std::string_view text, const nlohmann::json& input) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos)
      return absl::InvalidArgumentError(absl::StrCat("template: unclosed action at ", open));
    std::string_view action = text.substr(open + 2, close - open - 2);
    std::string_view literal = text.substr(pos, open - pos);
    if (!action.empty() && action.front() == '-') {
      absl::string_view lit =
          absl::StripTrailingAsciiWhitespace(absl::string_view(literal.data(), literal.size()));
      literal = std::string_view(lit.data(), lit.size());
      action.remove_prefix(1);
    }
    bool trim_right = !action.empty() && action.back() == '-';
    if (trim_right) action.remove_suffix(1);
    out.append(literal);
    absl::string_view act =
        absl::StripAsciiWhitespace(absl::string_view(action.data(), action.size()));
    action = std::string_view(act.data(), act.size());
    if (action != ".Input" && action.substr(0, 7) != ".Input.")
      return absl::InvalidArgumentError(
          absl::StrCat("template: only {{ .Input }} and {{ .Input.<field> }} are supported, not {{",
                       std::string(action), "}}"));
    std::optional<nlohmann::json> v = action == ".Input" ? std::optional<nlohmann::json>(input)
                                                         : GetPath(input, action.substr(7));
    if (!v || v->is_null()) {
      out += "<no value>";
    } else {
      out += JsonString(*v);
    }
    pos = close + 2;
    if (trim_right) {
      while (pos < text.size() && absl::ascii_isspace(text[pos])) ++pos;
    }
  }
  return out;
}

}  // namespace argonaut::events::sensors
