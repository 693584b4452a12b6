#include "lib/auth/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"

namespace argonaut::auth {
namespace {

constexpr char kCertName[] = "tls.crt";
constexpr char kKeyName[] = "tls.key";
constexpr long kValiditySeconds = 365L * 24 * 3600;
// A certificate about to expire is replaced at start rather than left to
// fail in the middle of a run.
constexpr long kRenewBeforeSeconds = 24L * 3600;

struct BioFree {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct NamesFree {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, NamesFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

absl::Status MakeDirs(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    const std::string prefix = dir.substr(0, i);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir", prefix);
  }
  // Holds the private key: nobody else lists or enters it.
  if (::chmod(dir.c_str(), 0700) != 0) return Errno("chmod", dir);
  return absl::OkStatus();
}

// Replaces `path` with `content` so that a crash leaves the old file or the
// new one, never half of one; the file has `mode` from its first byte.
absl::Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Errno("create", tmp);
  absl::Status status;
  if (::fchmod(fd, mode) != 0) status = Errno("chmod", tmp);
  size_t done = 0;
  while (status.ok() && done < content.size()) {
    ssize_t w = ::write(fd, content.data() + done, content.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      status = Errno("write", tmp);
      break;
    }
    done += static_cast<size_t>(w);
  }
  if (status.ok() && ::fsync(fd) != 0) status = Errno("fsync", tmp);
  ::close(fd);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) status = Errno("rename", tmp);
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync", dir);
  return absl::OkStatus();
}

// "IP:<canonical text>" for an IP literal, "DNS:<name>" otherwise; empty for
// wildcard addresses, which no client connects to by that name. The bytes
// of an IP literal go to `ip` (4 or 16 of them).
absl::StatusOr<std::string> NameEntry(const std::string& host, std::string* ip = nullptr) {
  unsigned char buf[16];
  char text[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, host.c_str(), buf) != 1) continue;
    const size_t len = family == AF_INET ? 4 : 16;
    if (std::all_of(buf, buf + len, [](unsigned char c) { return c == 0; })) return std::string();
    inet_ntop(family, buf, text, sizeof(text));
    if (ip != nullptr) ip->assign(reinterpret_cast<const char*>(buf), len);
    return absl::StrCat("IP:", text);
  }
  if (host.empty() || host.size() > 253 || !std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '*';
      })) {
    return absl::InvalidArgumentError(
        absl::StrCat("hosts: \"", host, "\" is neither an IP address nor a DNS name"));
  }
  return absl::StrCat("DNS:", host);
}

absl::StatusOr<X509Ptr> ReadCert(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a PEM certificate"));
  }
  return cert;
}

std::vector<std::string> NamesOf(X509* cert) {
  std::vector<std::string> out;
  NamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* s = name->d.dNSName;
      out.push_back(absl::StrCat(
          "DNS:", absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                    static_cast<size_t>(ASN1_STRING_length(s)))));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = name->d.iPAddress;
      const int len = ASN1_STRING_length(s);
      char text[INET6_ADDRSTRLEN];
      if ((len == 4 || len == 16) &&
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text, sizeof(text)) !=
              nullptr) {
        out.push_back(absl::StrCat("IP:", text));
      }
    }
  }
  return out;
}

// True when the pair in `cert_file`/`key_file` can be served again for `wanted`.
bool Reusable(const std::string& cert_file, const std::string& key_file,
              const std::vector<std::string>& wanted) {
  absl::StatusOr<X509Ptr> cert = ReadCert(cert_file);
  if (!cert.ok()) return false;
  BioPtr bio(BIO_new_file(key_file.c_str(), "r"));
  if (bio == nullptr) return false;
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr || X509_check_private_key(cert->get(), key.get()) != 1) return false;
  time_t renew_at = ::time(nullptr) + kRenewBeforeSeconds;
  if (X509_cmp_time(X509_get0_notAfter(cert->get()), &renew_at) <= 0) return false;
  const std::vector<std::string> have = NamesOf(cert->get());
  for (const std::string& name : wanted) {
    if (std::find(have.begin(), have.end(), name) == have.end()) return false;
  }
  return true;
}

absl::Status OpenSslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat("openssl: ", what, " failed"));
}

absl::StatusOr<std::string> ToPem(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0) return OpenSslError("PEM encoding");
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CertificateNames(const std::string& cert_file) {
  absl::StatusOr<X509Ptr> cert = ReadCert(cert_file);
  if (!cert.ok()) return cert.status();
  return NamesOf(cert->get());
}

absl::StatusOr<std::pair<std::string, std::string>> EnsureSelfSignedCert(
    const std::string& dir, const std::vector<std::string>& hosts) {
  if (dir.empty()) return absl::InvalidArgumentError("tls directory: empty");
  std::vector<std::string> all = {"localhost", "127.0.0.1", "::1"};
  all.insert(all.end(), hosts.begin(), hosts.end());
  std::vector<std::string> entries;
  std::vector<std::pair<std::string, std::string>> parsed;  // entry, ip bytes
  for (const std::string& host : all) {
    std::string ip;
    absl::StatusOr<std::string> entry = NameEntry(host, &ip);
    if (!entry.ok()) return entry.status();
    if (entry->empty() || std::find(entries.begin(), entries.end(), *entry) != entries.end()) {
      continue;
    }
    entries.push_back(*entry);
    parsed.emplace_back(*entry, ip);
  }

  if (absl::Status s = MakeDirs(dir); !s.ok()) return s;
  const std::string cert_file = absl::StrCat(dir, "/", kCertName);
  const std::string key_file = absl::StrCat(dir, "/", kKeyName);
  if (Reusable(cert_file, key_file, entries)) {
    if (::chmod(key_file.c_str(), 0600) != 0) return Errno("chmod", key_file);
    return std::make_pair(cert_file, key_file);
  }

  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return OpenSslError("EC P-256 key generation");
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError("X509_new");
  }
  // A random positive 127-bit serial: a regenerated certificate never
  // repeats one a client has cached.
  BnPtr serial(BN_new());
  if (serial == nullptr || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("serial number");
  }
  // An hour back: clients whose clock is a little behind still accept it.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds) == nullptr) {
    return OpenSslError("validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Argonaut"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("argonaut"), -1, -1, 0);
  if (X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1) {
    return OpenSslError("subject");
  }
  // The certificate is its own CA: clients trust it by passing it as the CA
  // file, as they do with Argo Server's generated certificate.
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : std::vector<std::pair<int, const char*>>{
           {NID_basic_constraints, "critical,CA:TRUE"},
           {NID_key_usage, "critical,digitalSignature,keyCertSign"},
           {NID_ext_key_usage, "serverAuth"},
           {NID_subject_key_identifier, "hash"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return OpenSslError("X509v3 extension");
    const int ok = X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1) return OpenSslError("X509v3 extension");
  }
  NamesPtr names(sk_GENERAL_NAME_new_null());
  for (const auto& [entry, ip] : parsed) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_STRING* value = ASN1_STRING_type_new(ip.empty() ? V_ASN1_IA5STRING : V_ASN1_OCTET_STRING);
    const std::string data = ip.empty() ? entry.substr(4) : ip;  // after "DNS:"
    if (gn == nullptr || value == nullptr ||
        ASN1_STRING_set(value, data.data(), static_cast<int>(data.size())) != 1) {
      GENERAL_NAME_free(gn);
      ASN1_STRING_free(value);
      return OpenSslError("subjectAltName");
    }
    GENERAL_NAME_set0_value(gn, ip.empty() ? GEN_DNS : GEN_IPADD, value);
    sk_GENERAL_NAME_push(names.get(), gn);
  }
  if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_REPLACE) !=
      1) {
    return OpenSslError("subjectAltName");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return OpenSslError("X509_sign");

  BioPtr key_pem(BIO_new(BIO_s_mem()));
  BioPtr cert_pem(BIO_new(BIO_s_mem()));
  if (key_pem == nullptr || cert_pem == nullptr ||
      PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_X509(cert_pem.get(), cert.get()) != 1) {
    return OpenSslError("PEM encoding");
  }
  absl::StatusOr<std::string> key_text = ToPem(key_pem.get());
  if (!key_text.ok()) return key_text.status();
  absl::StatusOr<std::string> cert_text = ToPem(cert_pem.get());
  if (!cert_text.ok()) return cert_text.status();
  // Key first: a crash in between leaves a pair that does not match, which
  // the next start replaces.
  if (absl::Status s = WriteFileAtomic(key_file, *key_text, 0600); !s.ok()) return s;
  OPENSSL_cleanse(key_text->data(), key_text->size());
  if (absl::Status s = WriteFileAtomic(cert_file, *cert_text, 0644); !s.ok()) return s;
  if (absl::Status s = SyncDir(dir); !s.ok()) return s;
  return std::make_pair(cert_file, key_file);
}

}  // namespace argonaut::auth
