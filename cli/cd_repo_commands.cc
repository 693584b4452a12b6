#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "cli/cd_client.h"
#include "cli/cd_commands.h"
#include "cli/cd_printer.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;
namespace cd1 = ::argonaut::cd::v1;
using cd_internal::CdClient;
using cd_internal::CheckFormat;
using cd_internal::F;
using cd_internal::IsHelp;
using cd_internal::kOutput;
using cd_internal::NormalizeBools;
using cd_internal::OneName;
using cd_internal::PrintStructured;
using cd_internal::S;
using cd_internal::Usage;

constexpr char kRepoUsage[] = R"(usage:
  argonaut repo add URL [--username U --password P] [--ssh-private-key-path FILE]
      [--insecure-skip-server-verification] [--name N] [--project P] [--upsert]
  argonaut repo list [-o json|yaml|url]  |  get URL  |  rm URL)";

constexpr char kProjUsage[] = R"(usage:
  argonaut proj create NAME [--src REPO]... [--dest SERVER,NAMESPACE]... [--description D]
      [-f FILE] [--upsert]
  argonaut proj get NAME [-o json|yaml]  |  list [-o json|yaml|name]  |  delete NAME)";

// ---- repo ----------------------------------------------------------------------------------

int RepoAdd(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::set<std::string> falses;
  auto args = ParseArgs(
      NormalizeBools(argv,
                     {"insecure-skip-server-verification", "insecure-ignore-host-key", "upsert"},
                     &falses),
      {kServer,
       {"username", ""},
       {"password", ""},
       {"ssh-private-key-path", ""},
       {"insecure-skip-server-verification", "", false},
       {"insecure-ignore-host-key", "", false},
       {"name", ""},
       {"project", ""},
       {"type", ""},
       {"upsert", "", false}});
  if (!args.ok()) return Fail(err, args.status());
  const std::string url = OneName(*args);
  if (url.empty()) return Fail(err, Usage(kRepoUsage));
  json repo = {{"repo", url}, {"type", args->Get("type", "git")}};
  for (const auto& [flag, field] :
       std::vector<std::pair<std::string, std::string>>{{"username", "username"},
                                                        {"password", "password"},
                                                        {"name", "name"},
                                                        {"project", "project"}}) {
    if (args->Has(flag)) repo[field] = args->Get(flag);
  }
  if (args->Has("ssh-private-key-path")) {
    auto key = ReadInput(args->Get("ssh-private-key-path"));
    if (!key.ok()) return Fail(err, key.status());
    repo["sshPrivateKey"] = *key;
  }
  if (args->Has("insecure-skip-server-verification")) repo["insecure"] = true;
  if (args->Has("insecure-ignore-host-key")) repo["insecureIgnoreHostKey"] = true;
  cd1::RepoCreateRequest req;
  req.set_json(repo.dump());
  req.set_upsert(args->Has("upsert"));
  CdClient client(args->Get("server"));
  cd1::RepositoryReply reply;
  absl::Status s = client.Convert(client.repos().Create(CdClient::Context(120).get(), req, &reply));
  if (!s.ok()) return Fail(err, s);
  out << "Repository '" << url << "' added\n";
  return 0;
}

int RepoList(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kOutput});
  if (!args.ok()) return Fail(err, args.status());
  const std::string format = args->Get("output");
  if (absl::Status s = CheckFormat(format, {"json", "yaml", "url", "wide"}); !s.ok()) {
    return Fail(err, s);
  }
  CdClient client(args->Get("server"));
  cd1::RepositoryListReply reply;
  absl::Status s =
      client.Convert(client.repos().List(CdClient::Context().get(), cd1::RepoQuery(), &reply));
  if (!s.ok()) return Fail(err, s);
  std::vector<json> repos;
  for (const std::string& item : reply.items()) {
    absl::StatusOr<json> r = CdClient::Parse(item);
    if (!r.ok()) return Fail(err, r.status());
    repos.push_back(*std::move(r));
  }
  if (format == "url") {
    for (const json& r : repos) out << S(r, "repo") << "\n";
    return 0;
  }
  if (!PrintStructured(format, json(repos), out)) out << FormatRepoList(repos);
  return 0;
}

int RepoGetOrRm(bool remove, const std::vector<std::string>& argv, std::ostream& out,
                std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kOutput});
  if (!args.ok()) return Fail(err, args.status());
  const std::string url = OneName(*args);
  if (url.empty()) return Fail(err, Usage(kRepoUsage));
  CdClient client(args->Get("server"));
  cd1::RepoQuery q;
  q.set_repo(url);
  if (remove) {
    cd1::RepoDeleteReply reply;
    absl::Status s = client.Convert(client.repos().Delete(CdClient::Context().get(), q, &reply));
    if (!s.ok()) return Fail(err, s);
    out << "Repository '" << url << "' removed\n";
    return 0;
  }
  cd1::RepositoryReply reply;
  absl::Status s = client.Convert(client.repos().Get(CdClient::Context().get(), q, &reply));
  if (!s.ok()) return Fail(err, s);
  absl::StatusOr<json> r = CdClient::Parse(reply.json());
  if (!r.ok()) return Fail(err, r.status());
  if (!PrintStructured(args->Get("output"), *r, out)) out << FormatRepoList({*r});
  return 0;
}

// ---- proj ----------------------------------------------------------------------------------

int ProjCreate(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               {"file", "f"},
                               {"src", "s", true, true},
                               {"dest", "d", true, true},
                               {"description", ""},
                               {"upsert", "", false}});
  if (!args.ok()) return Fail(err, args.status());
  json project = {{"apiVersion", "argoproj.io/v1alpha1"},
                  {"kind", "AppProject"},
                  {"metadata", json::object()},
                  {"spec", json::object()}};
  if (args->Has("file")) {
    auto text = ReadInput(args->Get("file"));
    if (!text.ok()) return Fail(err, text.status());
    auto docs = manifest::ParseDocuments(*text);
    if (!docs.ok()) return Fail(err, docs.status());
    if (docs->size() != 1 || !(*docs)[0].is_object()) {
      return Fail(err, absl::StrCat(args->Get("file"), ": expected one AppProject"));
    }
    project = (*docs)[0];
  }
  if (args->positional.size() > 1) return Fail(err, Usage(kProjUsage));
  if (!args->positional.empty()) project["metadata"]["name"] = args->positional[0];
  if (S(F(project, "metadata"), "name").empty()) return Fail(err, Usage(kProjUsage));
  json& spec = project["spec"];
  if (!spec.is_object()) spec = json::object();
  for (const std::string& src : args->All("src")) spec["sourceRepos"].push_back(src);
  for (const std::string& dest : args->All("dest")) {
    std::vector<std::string> parts = absl::StrSplit(dest, absl::MaxSplits(',', 1));
    if (parts.size() != 2) {
      return Fail(err, absl::StrCat("--dest: \"", dest, "\" is not SERVER,NAMESPACE"));
    }
    spec["destinations"].push_back({{"server", parts[0]}, {"namespace", parts[1]}});
  }
  if (args->Has("description")) spec["description"] = args->Get("description");
  cd1::ProjectCreateRequest req;
  req.set_json(project.dump());
  req.set_upsert(args->Has("upsert"));
  CdClient client(args->Get("server"));
  cd1::ProjectReply reply;
  absl::Status s = client.Convert(client.projects().Create(CdClient::Context().get(), req, &reply));
  if (!s.ok()) return Fail(err, s);
  out << "project '" << S(F(project, "metadata"), "name") << "' created\n";
  return 0;
}

int ProjGetListDelete(const std::string& verb, const std::vector<std::string>& argv,
                      std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kOutput});
  if (!args.ok()) return Fail(err, args.status());
  CdClient client(args->Get("server"));
  const std::string format = args->Get("output");
  if (verb == "list") {
    if (absl::Status s = CheckFormat(format, {"json", "yaml", "name", "wide"}); !s.ok()) {
      return Fail(err, s);
    }
    cd1::ProjectListReply reply;
    absl::Status s = client.Convert(
        client.projects().List(CdClient::Context().get(), cd1::ProjectQuery(), &reply));
    if (!s.ok()) return Fail(err, s);
    std::vector<json> projects;
    for (const std::string& item : reply.items()) {
      absl::StatusOr<json> p = CdClient::Parse(item);
      if (!p.ok()) return Fail(err, p.status());
      projects.push_back(*std::move(p));
    }
    if (format == "name") {
      for (const json& p : projects) out << S(F(p, "metadata"), "name") << "\n";
      return 0;
    }
    if (!PrintStructured(format, json(projects), out)) out << FormatProjectList(projects);
    return 0;
  }
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kProjUsage));
  cd1::ProjectQuery q;
  q.set_name(name);
  if (verb == "delete") {
    cd1::ProjectDeleteReply reply;
    absl::Status s = client.Convert(client.projects().Delete(CdClient::Context().get(), q, &reply));
    if (!s.ok()) return Fail(err, s);
    out << "project '" << name << "' deleted\n";
    return 0;
  }
  cd1::ProjectReply reply;
  absl::Status s = client.Convert(client.projects().Get(CdClient::Context().get(), q, &reply));
  if (!s.ok()) return Fail(err, s);
  absl::StatusOr<json> p = CdClient::Parse(reply.json());
  if (!p.ok()) return Fail(err, p.status());
  if (!PrintStructured(format, *p, out)) out << FormatProject(*p);
  return 0;
}

}  // namespace

int RunRepo(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  if (IsHelp(argv)) {
    (argv.empty() ? err : out) << kRepoUsage << "\n";
    return argv.empty() ? 1 : 0;
  }
  const std::string verb = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (verb == "add") return RepoAdd(rest, out, err);
  if (verb == "list" || verb == "ls") return RepoList(rest, out, err);
  if (verb == "get") return RepoGetOrRm(false, rest, out, err);
  if (verb == "rm" || verb == "remove") return RepoGetOrRm(true, rest, out, err);
  return Fail(err, absl::StrCat("unknown repo command \"", verb, "\"\n", kRepoUsage));
}

int RunProj(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  if (IsHelp(argv)) {
    (argv.empty() ? err : out) << kProjUsage << "\n";
    return argv.empty() ? 1 : 0;
  }
  const std::string verb = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (verb == "create") return ProjCreate(rest, out, err);
  if (verb == "get" || verb == "list" || verb == "delete") {
    return ProjGetListDelete(verb, rest, out, err);
  }
  return Fail(err, absl::StrCat("unknown proj command \"", verb, "\"\n", kProjUsage));
}

}  // namespace argonaut::cli
