#include "lib/auth/tls.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::auth {
namespace {

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::string NewDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/tlsXXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

X509* LoadCert(const std::string& path) {
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  fclose(f);
  return cert;
}

TEST(EnsureSelfSignedCertTest, MakesAVerifiableCertificateWithTheNames) {
  const std::string dir = NewDir() + "/tls";
  auto pair = EnsureSelfSignedCert(dir, {"10.1.2.3", "argonaut.example", "0.0.0.0"});
  ASSERT_THAT(pair.status(), IsOk());
  EXPECT_EQ(pair->first, dir + "/tls.crt");
  EXPECT_EQ(pair->second, dir + "/tls.key");

  struct stat st {};
  ASSERT_EQ(stat(pair->second.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  X509* cert = LoadCert(pair->first);
  ASSERT_NE(cert, nullptr);
  // Self-signed: its own key verifies its signature ...
  EXPECT_EQ(X509_verify(cert, X509_get0_pubkey(cert)), 1);
  // ... and, trusted as a CA, it verifies as a server certificate.
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, cert);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  EXPECT_EQ(X509_verify_cert(ctx), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert, "argonaut.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "10.1.2.3", 0), 1);
  EXPECT_NE(X509_check_ip_asc(cert, "10.9.9.9", 0), 1);
  // About a year.
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)), 1);
  EXPECT_GE(days, 365);
  EXPECT_LE(days, 366);
  X509_free(cert);

  auto names = CertificateNames(pair->first);
  ASSERT_THAT(names.status(), IsOk());
  EXPECT_THAT(*names, Contains("DNS:localhost"));
  EXPECT_THAT(*names, Contains("IP:127.0.0.1"));
  EXPECT_THAT(*names, Contains("IP:::1"));
  EXPECT_THAT(*names, Contains("IP:10.1.2.3"));
  EXPECT_THAT(*names, Contains("DNS:argonaut.example"));
  EXPECT_THAT(*names, Not(Contains("IP:0.0.0.0")));

  const std::string key_pem = Slurp(pair->second);
  EXPECT_THAT(key_pem, HasSubstr("PRIVATE KEY"));
}

TEST(EnsureSelfSignedCertTest, ReusesAValidPair) {
  const std::string dir = NewDir();
  auto first = EnsureSelfSignedCert(dir, {"10.1.2.3"});
  ASSERT_THAT(first.status(), IsOk());
  const std::string cert = Slurp(first->first);
  const std::string key = Slurp(first->second);
  auto second = EnsureSelfSignedCert(dir, {"10.1.2.3"});
  ASSERT_THAT(second.status(), IsOk());
  EXPECT_EQ(Slurp(second->first), cert);
  EXPECT_EQ(Slurp(second->second), key);
  // No host asked for: the names it has cover that too.
  ASSERT_THAT(EnsureSelfSignedCert(dir, {}).status(), IsOk());
  EXPECT_EQ(Slurp(first->first), cert);
}

TEST(EnsureSelfSignedCertTest, ReplacesAPairThatNoLongerFits) {
  const std::string dir = NewDir();
  auto first = EnsureSelfSignedCert(dir, {});
  ASSERT_THAT(first.status(), IsOk());
  const std::string cert = Slurp(first->first);
  // A host the certificate does not name.
  auto second = EnsureSelfSignedCert(dir, {"192.168.7.7"});
  ASSERT_THAT(second.status(), IsOk());
  EXPECT_NE(Slurp(second->first), cert);
  EXPECT_THAT(*CertificateNames(second->first), Contains("IP:192.168.7.7"));

  // A key that does not belong to the certificate.
  auto other = EnsureSelfSignedCert(NewDir(), {"192.168.7.7"});
  ASSERT_THAT(other.status(), IsOk());
  {
    std::ofstream out(second->second, std::ios::trunc);
    out << Slurp(other->second);
  }
  const std::string before = Slurp(second->first);
  auto third = EnsureSelfSignedCert(dir, {"192.168.7.7"});
  ASSERT_THAT(third.status(), IsOk());
  EXPECT_NE(Slurp(third->first), before);
  X509* c = LoadCert(third->first);
  ASSERT_NE(c, nullptr);
  FILE* f = fopen(third->second.c_str(), "r");
  ASSERT_NE(f, nullptr);
  EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  fclose(f);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(X509_check_private_key(c, k), 1);
  EVP_PKEY_free(k);
  X509_free(c);

  // Garbage in the certificate file.
  {
    std::ofstream out(third->first, std::ios::trunc);
    out << "not a certificate";
  }
  ASSERT_THAT(EnsureSelfSignedCert(dir, {}).status(), IsOk());
  c = LoadCert(third->first);
  EXPECT_NE(c, nullptr);
  X509_free(c);
}

TEST(EnsureSelfSignedCertTest, RejectsAHostThatIsNoName) {
  EXPECT_THAT(EnsureSelfSignedCert(NewDir(), {"bad host"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"bad host\"")));
  EXPECT_THAT(EnsureSelfSignedCert("", {}).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace argonaut::auth
