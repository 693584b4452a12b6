// RepositoryStore over the cluster's object API (ApiCluster on an in-memory store, with the
// Kubernetes validator), as the cd service uses it.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/crypto/aead.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "services/cd/repo/repo.h"
#include "services/cd/repo/test_git.h"

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;
using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "pa55-word-xyz";
constexpr char kKey[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretkeymaterial\n-----END";

class RepositoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kinds = resource::KindsOfService("cluster");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds,
                                                   cluster::KubernetesValidator());
    cluster_ = std::make_unique<cluster::ApiCluster>(api_.get());
    dir_ = testing::FreshDir("repo_store");
    key_file_ = dir_ + "/data/repo.key";
    auto store = RepositoryStore::Open(cluster_.get(), key_file_);
    ASSERT_OK(store);
    repos_ = std::move(*store);
  }

  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
  std::string dir_, key_file_;
  std::unique_ptr<RepositoryStore> repos_;
};

TEST_F(RepositoryStoreTest, KeyFileIsPrivateAndStable) {
  struct stat st;
  ASSERT_EQ(stat(key_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(st.st_size, 45);  // lib/crypto writes the key's base64 and a newline
  ASSERT_OK(repos_->Upsert(
      {{"repo", "https://git.example.com/a.git"}, {"username", "alice"}, {"password", kPassword}}));
  // A second store over the same key file decrypts what the first wrote.
  auto again = RepositoryStore::Open(cluster_.get(), key_file_);
  ASSERT_OK(again);
  EXPECT_EQ((*again)->CredentialsFor("https://git.example.com/a.git").password, kPassword);
  // Another key cannot.
  auto other = RepositoryStore::Open(cluster_.get(), dir_ + "/other.key");
  ASSERT_OK(other);
  EXPECT_EQ((*other)->CredentialsFor("https://git.example.com/a.git").password, "");
  // A key file others can read is refused.
  chmod(key_file_.c_str(), 0644);
  EXPECT_THAT(RepositoryStore::Open(cluster_.get(), key_file_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("0600")));
}

// What the store wrote before lib/crypto: a key file of 32 raw bytes and values in the
// "enc:v1:" envelope. Both still read; the next Upsert writes "argn:v1:".
TEST_F(RepositoryStoreTest, ReadsKeysAndValuesFromBeforeLibCrypto) {
  const std::string raw_key(32, '\x5a');
  const std::string legacy_file = dir_ + "/legacy.key";
  {
    std::ofstream(legacy_file, std::ios::binary) << raw_key;
    chmod(legacy_file.c_str(), 0600);
  }
  const std::string url = "https://git.example.com/legacy.git";
  absl::StatusOr<std::string> sealed = crypto::Seal(raw_key, kPassword, url);
  ASSERT_OK(sealed);
  const std::string legacy_value = "enc:v1:" + sealed->substr(std::string("argn:v1:").size());
  auto b64 = [](const std::string& v) { return absl::Base64Escape(v); };
  ASSERT_OK(cluster_->Create(
      {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "argocd"}}}}));
  ASSERT_OK(cluster_->Create(
      {{"apiVersion", "v1"},
       {"kind", "Secret"},
       {"metadata",
        {{"name", "repo-legacy"},
         {"namespace", "argocd"},
         {"labels", {{"argocd.argoproj.io/secret-type", "repository"}}}}},
       {"data", {{"url", b64(url)}, {"username", b64("bob")}, {"password", b64(legacy_value)}}}}));
  auto legacy = RepositoryStore::Open(cluster_.get(), legacy_file);
  ASSERT_OK(legacy);
  EXPECT_EQ((*legacy)->CredentialsFor(url).password, kPassword);
  ASSERT_OK((*legacy)->Upsert({{"repo", url}, {"username", "bob"}, {"password", kPassword}}));
  EXPECT_EQ((*legacy)->CredentialsFor(url).password, kPassword);
}

TEST_F(RepositoryStoreTest, SecretsAreSealedAtRestAndNeverListed) {
  ASSERT_OK(repos_->Upsert({{"repo", "https://git.example.com/a.git"},
                            {"username", "alice"},
                            {"password", kPassword},
                            {"sshPrivateKey", kKey},
                            {"insecure", true},
                            {"name", "a"},
                            {"project", "default"}}));
  auto secrets = cluster_->List("Secret", "argocd", "argocd.argoproj.io/secret-type=repository");
  ASSERT_OK(secrets);
  ASSERT_EQ(secrets->size(), 1u);
  const json& secret = (*secrets)[0];
  const std::string raw = secret.dump();
  EXPECT_THAT(raw, Not(HasSubstr(kPassword)));
  EXPECT_THAT(raw, Not(HasSubstr(absl::Base64Escape(kPassword))));
  EXPECT_THAT(raw, Not(HasSubstr("secretkeymaterial")));
  std::string stored;
  ASSERT_TRUE(absl::Base64Unescape(secret["data"]["password"].get<std::string>(), &stored));
  EXPECT_THAT(stored, ::testing::StartsWith("argn:v1:"));
  std::string url;
  ASSERT_TRUE(absl::Base64Unescape(secret["data"]["url"].get<std::string>(), &url));
  EXPECT_EQ(url, "https://git.example.com/a.git");

  auto list = repos_->List();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], json({{"repo", "https://git.example.com/a.git"},
                              {"type", "git"},
                              {"username", "alice"},
                              {"insecure", true},
                              {"name", "a"},
                              {"project", "default"}}));
  auto got = repos_->Get("https://git.example.com/a");  // another spelling of the same repo
  ASSERT_OK(got);
  EXPECT_FALSE(got->contains("password"));
  EXPECT_FALSE(got->contains("sshPrivateKey"));

  RepoCredentials creds = repos_->CredentialsFor("https://git.example.com/a");
  EXPECT_EQ(creds.username, "alice");
  EXPECT_EQ(creds.password, kPassword);
  EXPECT_EQ(creds.ssh_private_key, kKey);
  EXPECT_TRUE(creds.insecure);
}

TEST_F(RepositoryStoreTest, LongestPrefixActsAsCredentialTemplate) {
  ASSERT_OK(repos_->Upsert({{"repo", "https://git.example.com/org"}, {"password", "org-pw"}}));
  ASSERT_OK(
      repos_->Upsert({{"repo", "https://git.example.com/org/team"}, {"password", "team-pw"}}));
  EXPECT_EQ(repos_->CredentialsFor("https://git.example.com/org/app.git").password, "org-pw");
  EXPECT_EQ(repos_->CredentialsFor("https://git.example.com/org/team/app").password, "team-pw");
  EXPECT_EQ(repos_->CredentialsFor("https://git.example.com/organisation/x").password, "");
  EXPECT_EQ(repos_->CredentialsFor("https://elsewhere.example.com/org/app").password, "");
}

TEST_F(RepositoryStoreTest, UpsertReplacesAndDeleteRemoves) {
  ASSERT_OK(repos_->Upsert({{"repo", "https://git.example.com/a"}, {"username", "one"}}));
  ASSERT_OK(repos_->Upsert({{"repo", "https://git.example.com/a"}, {"username", "two"}}));
  auto list = repos_->List();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0]["username"], "two");
  ASSERT_OK(repos_->Delete("https://git.example.com/a"));
  EXPECT_THAT(repos_->Get("https://git.example.com/a"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("repository 'https://git.example.com/a' not found")));
  EXPECT_THAT(repos_->Delete("https://git.example.com/a"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RepositoryStoreTest, BadInputNamesTheField) {
  EXPECT_THAT(repos_->Upsert({{"username", "x"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("repo: required")));
  EXPECT_THAT(repos_->Upsert({{"repo", "https://x/y"}, {"password", 3}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("password: expected")));
  EXPECT_THAT(repos_->Upsert({{"repo", "https://x/y"}, {"type", "helm"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("type:")));
  EXPECT_THAT(repos_->Upsert(json::array()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RepositoryStore::Open(nullptr, key_file_),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace argonaut::cd::repo
