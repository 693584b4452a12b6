#include "lib/auth/token_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::auth {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/tokens_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    path_ = dir_ + "/auth/tokens.json";
  }
  std::string dir_, path_;
};

std::unique_ptr<TokenStore> MustOpen(const std::string& path) {
  auto store = TokenStore::Open(path);
  EXPECT_OK(store.status());
  return store.ok() ? std::move(*store) : nullptr;
}

TEST_F(TokenStoreTest, CreateAndAuthenticate) {
  auto store = MustOpen(path_);
  ASSERT_NE(store, nullptr);
  std::string id;
  auto token = store->CreateToken("alice", absl::ZeroDuration(), kNow, &id);
  ASSERT_OK(token.status());
  EXPECT_TRUE(absl::StartsWith(*token, "argn_" + id + "_")) << "token shape";
  EXPECT_EQ(id.size(), 12u);
  // 32 bytes base64url without padding: 43 characters.
  EXPECT_EQ(token->size(), 5 + 12 + 1 + 43u);

  auto who = store->Authenticate(*token, kNow + absl::Hours(24 * 3650));
  ASSERT_OK(who.status());
  EXPECT_EQ(who->account, "alice");
  EXPECT_EQ(who->token_id, id);

  auto list = store->ListTokens();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, id);
  EXPECT_EQ(list[0].account, "alice");
  EXPECT_EQ(list[0].created, kNow);
  EXPECT_EQ(list[0].expires, absl::InfiniteFuture());
  EXPECT_THAT(store->Accounts(), ElementsAre("admin", "alice"));
}

TEST_F(TokenStoreTest, RejectsBadTokensWithoutEchoingThem) {
  auto store = MustOpen(path_);
  ASSERT_NE(store, nullptr);
  auto token = store->CreateToken("alice", absl::ZeroDuration(), kNow);
  ASSERT_OK(token.status());
  std::string tampered = *token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  const std::vector<std::string> bad = {
      "",
      "argn_",
      "garbage",
      tampered,
      "argn_000000000000_" + token->substr(18),  // right secret, unknown id
      token->substr(0, token->size() - 1),       // truncated secret
      "argn_ABCDEF012345_" + token->substr(18),  // upper-case id
      *token + "x",
  };
  for (const std::string& t : bad) {
    absl::Status s = store->Authenticate(t, kNow).status();
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated, "invalid token")) << t;
    if (t.size() > 8) {
      EXPECT_THAT(std::string(s.message()), Not(HasSubstr(t.substr(5)))) << t;
    }
  }
}

TEST_F(TokenStoreTest, Expiry) {
  auto store = MustOpen(path_);
  ASSERT_NE(store, nullptr);
  auto token = store->CreateToken("bob", absl::Hours(1), kNow);
  ASSERT_OK(token.status());
  EXPECT_OK(store->Authenticate(*token, kNow).status());
  EXPECT_OK(store->Authenticate(*token, kNow + absl::Minutes(59)).status());
  EXPECT_THAT(store->Authenticate(*token, kNow + absl::Hours(1)).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, "token expired"));
  EXPECT_THAT(store->Authenticate(*token, kNow + absl::Hours(100)).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, "token expired"));
  ASSERT_EQ(store->ListTokens().size(), 1u);
  EXPECT_EQ(store->ListTokens()[0].expires, kNow + absl::Hours(1));
}

TEST_F(TokenStoreTest, Delete) {
  auto store = MustOpen(path_);
  ASSERT_NE(store, nullptr);
  std::string id1, id2;
  auto t1 = store->CreateToken("alice", absl::ZeroDuration(), kNow, &id1);
  auto t2 = store->CreateToken("alice", absl::ZeroDuration(), kNow, &id2);
  ASSERT_OK(t1.status());
  ASSERT_OK(t2.status());
  EXPECT_NE(id1, id2);
  EXPECT_NE(*t1, *t2);
  EXPECT_THAT(store->DeleteToken("bob", id1), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store->DeleteToken("alice", "ffffffffffff"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ffffffffffff")));
  ASSERT_OK(store->DeleteToken("alice", id1));
  EXPECT_THAT(store->Authenticate(*t1, kNow).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_OK(store->Authenticate(*t2, kNow).status());
  EXPECT_THAT(store->DeleteToken("alice", id1), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(TokenStoreTest, InvalidAccountNames) {
  auto store = MustOpen(path_);
  ASSERT_NE(store, nullptr);
  for (const std::string& account :
       std::vector<std::string>{"", "a b", "a/b", "a,b", "a\nb", std::string(300, 'a')}) {
    EXPECT_THAT(store->CreateToken(account, absl::ZeroDuration(), kNow).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("account")))
        << account;
  }
  EXPECT_OK(store->CreateToken("system:service", absl::ZeroDuration(), kNow).status());
  EXPECT_OK(store->CreateToken("ci-bot.prod@team_a", absl::ZeroDuration(), kNow).status());
}

TEST_F(TokenStoreTest, FileIsPrivateAndHoldsNoTokenText) {
  auto store = MustOpen(path_);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> tokens;
  for (int i = 0; i < 3; ++i) {
    auto t = store->CreateToken(absl::StrCat("user", i), absl::Hours(1), kNow);
    ASSERT_OK(t.status());
    tokens.push_back(*t);
  }
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(stat((dir_ + "/auth").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  const std::string content = ReadAll(path_);
  ASSERT_THAT(content, HasSubstr("user2"));
  for (const std::string& t : tokens) {
    EXPECT_THAT(content, Not(HasSubstr(t)));
    EXPECT_THAT(content, Not(HasSubstr(t.substr(18)))) << "secret part in the file";
  }
  // No temporary file is left behind.
  DIR* d = opendir((dir_ + "/auth").c_str());
  ASSERT_NE(d, nullptr);
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ElementsAre("tokens.json", "tokens.json.lock"));
}

TEST_F(TokenStoreTest, TightensLooseFileMode) {
  {
    auto store = MustOpen(path_);
    ASSERT_NE(store, nullptr);
  }
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  auto store = MustOpen(path_);
  ASSERT_NE(store, nullptr);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(TokenStoreTest, SeesChangesFromAnotherInstance) {
  auto a = MustOpen(path_);
  auto b = MustOpen(path_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::string id;
  auto token = a->CreateToken("alice", absl::ZeroDuration(), kNow, &id);
  ASSERT_OK(token.status());
  auto who = b->Authenticate(*token, kNow);
  ASSERT_OK(who.status());
  EXPECT_EQ(who->account, "alice");
  // b's write keeps a's token (read-modify-write under the file lock).
  auto other = b->CreateToken("bob", absl::ZeroDuration(), kNow);
  ASSERT_OK(other.status());
  EXPECT_EQ(a->ListTokens().size(), 2u);
  EXPECT_OK(a->Authenticate(*other, kNow).status());
  ASSERT_OK(b->DeleteToken("alice", id));
  EXPECT_THAT(a->Authenticate(*token, kNow).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  // A reopened store sees the same state.
  auto c = MustOpen(path_);
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(c->Accounts(), ElementsAre("admin", "bob"));
}

TEST_F(TokenStoreTest, SeesTokensMadeByAnotherProcess) {
  auto store = MustOpen(path_);
  ASSERT_NE(store, nullptr);
  // Warm the in-memory view first, so the token below must come from a reload.
  EXPECT_THAT(store->Accounts(), ElementsAre("admin"));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto child = TokenStore::Open(path_);
    if (!child.ok()) _exit(1);
    auto token = (*child)->CreateToken("child", absl::ZeroDuration(), kNow);
    if (!token.ok()) _exit(2);
    if (write(fds[1], token->data(), token->size()) != static_cast<ssize_t>(token->size())) {
      _exit(3);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string token;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) token.append(buf, n);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto who = store->Authenticate(token, kNow);
  ASSERT_OK(who.status());
  EXPECT_EQ(who->account, "child");
}

TEST_F(TokenStoreTest, ConcurrentCreatesFromTwoInstancesAreAllKept) {
  auto a = MustOpen(path_);
  auto b = MustOpen(path_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::vector<std::string> ta(10), tb(10);
  std::thread x([&] {
    for (auto& t : ta) t = a->CreateToken("a", absl::ZeroDuration(), kNow).value_or("");
  });
  std::thread y([&] {
    for (auto& t : tb) t = b->CreateToken("b", absl::ZeroDuration(), kNow).value_or("");
  });
  x.join();
  y.join();
  EXPECT_EQ(a->ListTokens().size(), 20u);
  for (const auto& t : ta) EXPECT_OK(b->Authenticate(t, kNow).status());
  for (const auto& t : tb) EXPECT_OK(a->Authenticate(t, kNow).status());
}

TEST_F(TokenStoreTest, CorruptFileIsAnErrorWithoutContent) {
  ASSERT_OK(TokenStore::Open(path_).status());
  {
    std::ofstream out(path_, std::ios::trunc);
    out << R"({"tokens":[{"id":"0123456789ab","account":"alice","sha256":"SECRETHASH","createdAt":1}]})";
  }
  absl::Status s = TokenStore::Open(path_).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tokens[0].sha256")));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("SECRETHASH")));
}

}  // namespace
}  // namespace argonaut::auth
