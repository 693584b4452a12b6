// HTTP templates (Argo's `http`, which Argo hands to its agent pod; here the controller makes
// the call). The engine only renders and checks the request, and judges the response once the
// controller reports it (EngineInput::http), so the whole decision stays a table-testable
// function: Argo's default (2xx) or the template's expr-lang successCondition over `request.*`
// and `response.*`.
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"
#include "lib/expr/exprlang.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

constexpr int64_t kDefaultHttpTimeoutSeconds = 30;  // Argo's documented default

// A header name or value must not smuggle another header or a second request.
bool HasLineBreak(std::string_view s) {
  return s.find('\r') != std::string_view::npos || s.find('\n') != std::string_view::npos;
}

bool ValidToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '!' && c != '#' && c != '$' && c != '%' && c != '&' && c != '\'' && c != '*' &&
        c != '+' && c != '^' && c != '`' && c != '|' && c != '~') {
      return false;
    }
  }
  return true;
}

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("http.", AbslView(field), ": ", AbslView(what)));
}

// The request the controller carries out (engine.h EngineOutput::http_requests), from the
// rendered `http` block; errors name the field.
absl::StatusOr<json> BuildHttpRequest(const json& http) {
  if (!http.is_object()) return absl::InvalidArgumentError("http: not an object");
  json req = json::object();
  auto url = http.find("url");
  if (url == http.end() || !url->is_string() || url->get_ref<const std::string&>().empty()) {
    return Invalid("url", "required");
  }
  const std::string& u = url->get_ref<const std::string&>();
  const std::string lower = absl::AsciiStrToLower(u.substr(0, 8));
  // Only the web: libcurl would also read file:// (the controller's own files) and more.
  if (!absl::StartsWith(lower, "http://") && !absl::StartsWith(lower, "https://")) {
    return Invalid("url", absl::StrCat("\"", u, "\" is not an http or https URL"));
  }
  if (HasLineBreak(u) || u.find(' ') != std::string::npos) {
    return Invalid("url", "must not contain spaces or line breaks");
  }
  req["url"] = u;
  std::string method = "GET";
  if (auto m = http.find("method"); m != http.end() && !m->is_null()) {
    if (!m->is_string()) return Invalid("method", "not a string");
    if (!m->get_ref<const std::string&>().empty()) method = m->get<std::string>();
  }
  if (!ValidToken(method))
    return Invalid("method", absl::StrCat("invalid method \"", method, "\""));
  req["method"] = method;
  json headers = json::array();
  if (auto h = http.find("headers"); h != http.end() && !h->is_null()) {
    if (!h->is_array()) return Invalid("headers", "not a list");
    for (size_t i = 0; i < h->size(); ++i) {
      const json& e = (*h)[i];
      const std::string at = absl::StrCat("headers[", i, "]");
      if (!e.is_object()) return Invalid(at, "not an object");
      const std::string& name = Str(e, "name");
      if (!ValidToken(name)) return Invalid(at + ".name", "required, a header name");
      auto vf = e.find("valueFrom");
      if (vf != e.end() && !vf->is_null()) {
        auto ref = vf->is_object() ? vf->find("secretKeyRef") : vf->end();
        if (!vf->is_object() || ref == vf->end() || !ref->is_object() ||
            Str(*ref, "name").empty() || Str(*ref, "key").empty()) {
          return Invalid(at + ".valueFrom.secretKeyRef", "needs name and key");
        }
        headers.push_back(
            {{"name", name},
             {"secretKeyRef", {{"name", Str(*ref, "name")}, {"key", Str(*ref, "key")}}}});
        continue;
      }
      auto v = e.find("value");
      std::string value;
      if (v != e.end() && !v->is_null())
        value = v->is_string() ? v->get<std::string>() : ItemText(*v);
      if (HasLineBreak(value)) return Invalid(at + ".value", "must not contain line breaks");
      headers.push_back({{"name", name}, {"value", value}});
    }
  }
  req["headers"] = std::move(headers);
  if (auto bf = http.find("bodyFrom"); bf != http.end() && !bf->is_null()) {
    auto bytes = bf->is_object() ? bf->find("bytes") : bf->end();
    if (!bf->is_object() || (bytes != bf->end() && !bytes->is_null() && !bytes->is_string())) {
      return Invalid("bodyFrom.bytes", "must be base64 text");
    }
    std::string text = bytes == bf->end() || bytes->is_null() ? "" : bytes->get<std::string>();
    std::string decoded;
    if (!absl::Base64Unescape(text, &decoded)) return Invalid("bodyFrom.bytes", "not base64");
    req["bodyBase64"] = std::move(text);
  } else if (auto b = http.find("body"); b != http.end() && !b->is_null()) {
    req["body"] = b->is_string() ? b->get<std::string>() : b->dump();
  }
  int64_t timeout = kDefaultHttpTimeoutSeconds;
  if (auto ts = http.find("timeoutSeconds"); ts != http.end() && !ts->is_null()) {
    std::optional<int64_t> v = IntOrString(*ts);
    if (!v.has_value() || *v <= 0) return Invalid("timeoutSeconds", "must be a positive integer");
    timeout = *v;
  }
  req["timeoutSeconds"] = timeout;
  if (auto isv = http.find("insecureSkipVerify"); isv != http.end() && !isv->is_null()) {
    if (!isv->is_boolean()) return Invalid("insecureSkipVerify", "not a boolean");
    req["insecureSkipVerify"] = isv->get<bool>();
  } else {
    req["insecureSkipVerify"] = false;
  }
  if (auto sc = http.find("successCondition"); sc != http.end() && !sc->is_null()) {
    if (!sc->is_string()) return Invalid("successCondition", "not a string");
  }
  return req;
}

// The length of the UTF-8 sequence at s[i], 0 when it is not valid there (overlong forms,
// surrogates and code points past U+10FFFF included).
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Response bodies are bytes; the status is JSON text. Invalid UTF-8 becomes U+FFFD, as Go's
// encoding/json writes Argo's outputs.result.
std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8Length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

// What successCondition sees: Argo's `request` (headers given by value only) and `response`.
json ConditionEnv(const json& req, const std::string& body, const HttpResult& res) {
  json req_headers = json::object();
  for (const json& h : req["headers"]) {
    if (h.contains("value")) req_headers[Str(h, "name")] = json::array({h["value"]});
  }
  json res_headers = json::object();
  for (const auto& [name, values] : res.headers) {
    json list = json::array();
    for (const std::string& v : values) list.push_back(ValidUtf8(v));
    res_headers[ValidUtf8(name)] = std::move(list);
  }
  std::string req_body = req.value("body", "");
  return {{"request",
           {{"method", req["method"]},
            {"url", req["url"]},
            {"body", ValidUtf8(req_body)},
            {"headers", std::move(req_headers)}}},
          {"response",
           {{"statusCode", res.status_code}, {"body", body}, {"headers", std::move(res_headers)}}}};
}

}  // namespace

json* Operator::ExecuteHttp(const std::string& name, const Resolved& r, const json& t,
                            const ExecOpts& opts) {
  json* node = NodeByName(name);
  if (node == nullptr) {
    node = &InitNode(name, "HTTP", "", opts.boundary_id, "Pending", "", &r);
    if (t.contains("inputs") && t["inputs"].is_object() && !t["inputs"].empty()) {
      (*node)["inputs"] = t["inputs"];
    }
  }
  if (NodeFulfilled(*node)) return node;
  absl::StatusOr<json> req = BuildHttpRequest(t["http"]);
  if (!req.ok()) {
    MarkPhase(*node, "Error", std::string(req.status().message()));
    return node;
  }
  const std::string id = Str(*node, "id");
  auto it = in_.http.find(id);
  if (it == in_.http.end() || !it->second.done) {
    if (it != in_.http.end() && Str(*node, "phase") == "Pending") MarkPhase(*node, "Running");
    out_.http_requests[id] = *std::move(req);
    return node;
  }
  const HttpResult& res = it->second;
  if (!res.error.empty()) {
    MarkPhase(*node, "Failed", res.error);
    return node;
  }
  std::string body = ValidUtf8(res.body);
  (*node)["outputs"] = {{"result", body}};
  const std::string& cond = Str(t["http"], "successCondition");
  if (cond.empty()) {
    if (res.status_code >= 200 && res.status_code < 300) {
      MarkPhase(*node, "Succeeded", "");
    } else {
      MarkPhase(*node, "Failed", absl::StrCat("received non-2xx response code: ", res.status_code));
    }
    return node;
  }
  absl::StatusOr<bool> ok = [&]() -> absl::StatusOr<bool> {
    absl::StatusOr<expr::ExprProgram> program = expr::ExprProgram::Compile(cond);
    if (!program.ok()) return program.status();
    return program->EvalBool(ConditionEnv(*req, body, res));
  }();
  if (!ok.ok()) {
    MarkPhase(*node, "Failed", absl::StrCat("http.successCondition: ", ok.status().message()));
  } else if (!*ok) {
    MarkPhase(*node, "Failed", absl::StrCat("successCondition '", cond, "' evaluated false"));
  } else {
    MarkPhase(*node, "Succeeded", "");
  }
  return node;
}

absl::StatusOr<std::string> Operator::ConfigMapParameter(
    const json& ref, const std::optional<std::string>& fallback) {
  if (!ref.is_object() || Str(ref, "name").empty() || Str(ref, "key").empty()) {
    return absl::InvalidArgumentError("configMapKeyRef needs name and key");
  }
  // The name and key may use the globals ({{workflow.parameters.x}}), as in Argo.
  tmpl::RenderOptions leave;
  leave.unresolved = tmpl::Unresolved::kLeave;
  absl::StatusOr<std::string> name = tmpl::RenderString(Str(ref, "name"), globals_, leave);
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> key = tmpl::RenderString(Str(ref, "key"), globals_, leave);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> value =
      in_.configmaps ? in_.configmaps(*name, *key)
                     : absl::StatusOr<std::string>(absl::NotFoundError(
                           absl::StrCat("ConfigMap \"", *name, "\" not found (no ConfigMaps)")));
  if (value.ok() || !absl::IsNotFound(value.status())) return value;
  if (fallback.has_value()) return *fallback;
  if (ref.value("optional", false) == true) return std::string();
  return value;
}

}  // namespace argonaut::workflow::engine::internal
