#include "cli/account_commands.h"

#include <algorithm>
#include <chrono>
#include <ostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "argonaut/auth/v1/auth.grpc.pb.h"
#include "cli/args.h"
#include "cli/cli_util.h"
#include "cli/client.h"
#include "grpcpp/grpcpp.h"
#include "lib/server/grpc_status.h"

namespace argonaut::cli {
namespace {

namespace a1 = ::argonaut::auth::v1;

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

absl::Status Convert(const std::string& address, const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach the Argonaut server at ", address,
                     " (is `argonaut up` running?): ", s.error_message()));
  }
  return FromGrpcStatus(s);
}

std::string FormatTime(int64_t seconds) {
  if (seconds <= 0) return "never";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds),
                          absl::UTCTimeZone());
}

std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

int AccountList(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer});
  if (!args.ok()) return Fail(err, args.status());
  const std::string address = ServerAddress(args->Get("server"));
  auto stub = a1::AccountService::NewStub(ConnectChannel(address));
  a1::ListAccountsReply reply;
  if (absl::Status s = Convert(address, stub->ListAccounts(Ctx().get(), {}, &reply)); !s.ok()) {
    return Fail(err, s);
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "ENABLED", "CAPABILITIES", "TOKEN ID", "ISSUED", "EXPIRES"}};
  for (const a1::Account& a : reply.items()) {
    std::string caps;
    for (const std::string& c : a.capabilities()) caps += (caps.empty() ? "" : ",") + c;
    if (a.tokens().empty()) {
      rows.push_back({a.name(), a.enabled() ? "true" : "false", caps, "-", "-", "-"});
    }
    for (const a1::TokenInfo& t : a.tokens()) {
      rows.push_back({a.name(), a.enabled() ? "true" : "false", caps, t.id(),
                      FormatTime(t.issued_at()), FormatTime(t.expires_at())});
    }
  }
  out << Table(rows);
  return 0;
}

int AccountCreateToken(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, {"account", "a"}, {"expires-in", "e"}, {"id", "i"}});
  if (!args.ok()) return Fail(err, args.status());
  if (!args->positional.empty()) return Fail(err, "create-token takes no arguments");
  if (args->Has("id")) return Fail(err, "--id: token ids are chosen by the server");
  a1::CreateTokenRequest req;
  req.set_account(args->Get("account"));
  if (args->Has("expires-in")) {
    int64_t seconds = 0;
    if (!ParseExpiresIn(args->Get("expires-in"), &seconds)) {
      return Fail(err, "--expires-in: expected a duration such as 24h, 30m or 7d (0: never)");
    }
    req.set_expires_in_seconds(seconds);
  }
  const std::string address = ServerAddress(args->Get("server"));
  auto stub = a1::AccountService::NewStub(ConnectChannel(address));
  a1::CreateTokenReply reply;
  if (absl::Status s = Convert(address, stub->CreateToken(Ctx().get(), req, &reply)); !s.ok()) {
    return Fail(err, s);
  }
  // The token alone on stdout, so that `TOKEN=$(argonaut account create-token)` works; it is
  // shown this once and never again.
  out << reply.token() << "\n";
  err << "token " << reply.id() << " created for account "
      << (req.account().empty() ? "(yours)" : req.account()) << "\n";
  return 0;
}

int AccountDeleteToken(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, {"account", "a"}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.size() != 1) return Fail(err, "usage: argonaut account delete-token ID");
  a1::DeleteTokenRequest req;
  req.set_account(args->Get("account"));
  req.set_id(args->positional[0]);
  const std::string address = ServerAddress(args->Get("server"));
  auto stub = a1::AccountService::NewStub(ConnectChannel(address));
  a1::DeleteTokenReply reply;
  if (absl::Status s = Convert(address, stub->DeleteToken(Ctx().get(), req, &reply)); !s.ok()) {
    return Fail(err, s);
  }
  out << "token " << req.id() << " deleted\n";
  return 0;
}

}  // namespace

bool ParseExpiresIn(const std::string& text, int64_t* seconds) {
  if (text == "0") {
    *seconds = 0;
    return true;
  }
  absl::string_view t = text;
  if (absl::ConsumeSuffix(&t, "d")) {
    int64_t days = 0;
    if (!absl::SimpleAtoi(t, &days) || days <= 0 || days > 36500) return false;
    *seconds = days * 86400;
    return true;
  }
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration() || d > absl::Hours(24 * 36500)) {
    return false;
  }
  *seconds = std::max<int64_t>(1, absl::ToInt64Seconds(d));
  return true;
}

int RunAccount(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    return Fail(err,
                "usage: argonaut account list | create-token [--account A] [--expires-in D] "
                "| delete-token ID [--account A]");
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "list") return AccountList(rest, out, err);
  if (args[0] == "create-token" || args[0] == "generate-token") {
    return AccountCreateToken(rest, out, err);
  }
  if (args[0] == "delete-token") return AccountDeleteToken(rest, out, err);
  return Fail(err, absl::StrCat("account: unknown subcommand \"", args[0], "\""));
}

int RunAuth(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] != "can-i") {
    return Fail(err, "usage: argonaut auth can-i ACTION RESOURCE [NAMESPACE/NAME]");
  }
  auto parsed = ParseArgs(std::vector<std::string>(args.begin() + 1, args.end()),
                          {kServer, kNamespace, {"all-namespaces", "A", false}});
  if (!parsed.ok()) return Fail(err, parsed.status());
  const auto& pos = parsed->positional;
  if (pos.size() < 2 || pos.size() > 3) {
    return Fail(err, "usage: argonaut auth can-i ACTION RESOURCE [NAMESPACE/NAME]");
  }
  a1::CanIRequest req;
  req.set_action(pos[0]);
  req.set_resource(pos[1]);
  // kubectl's `-n NS NAME` also works; a bare NAME is in the namespace of -n (default: any).
  std::string object = pos.size() == 3 ? pos[2] : "";
  if (!object.empty() && object.find('/') == std::string::npos && parsed->Has("namespace")) {
    object = absl::StrCat(parsed->Get("namespace"), "/", object);
  } else if (object.empty() && parsed->Has("namespace") && !parsed->Has("all-namespaces")) {
    object = absl::StrCat(parsed->Get("namespace"), "/*");
  }
  req.set_object(object);
  const std::string address = ServerAddress(parsed->Get("server"));
  auto stub = a1::AccountService::NewStub(ConnectChannel(address));
  a1::CanIReply reply;
  if (absl::Status s = Convert(address, stub->CanI(Ctx().get(), req, &reply)); !s.ok()) {
    Fail(err, s);
    return 2;
  }
  out << (reply.allowed() ? "yes" : "no") << "\n";
  return reply.allowed() ? 0 : 1;
}

}  // namespace argonaut::cli
