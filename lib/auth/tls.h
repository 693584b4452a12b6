// A server certificate for when no operator supplied one: Argo Server serves
// TLS by default with a self-signed certificate, and so does Argonaut when it
// binds to anything but loopback.
//
//   ASSIGN_OR_RETURN(auto pair, auth::EnsureSelfSignedCert(data_dir + "/tls", {"10.0.0.5"}));
//   // pair.first: tls.crt (also the CA clients pass to --tls-ca), pair.second: tls.key (0600)
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace argonaut::auth {

// Makes (or reuses) `dir`/tls.crt and `dir`/tls.key: an EC P-256 key (mode
// 0600, directory 0700) and a self-signed X509v3 certificate valid for a year
// whose subjectAltName lists every entry of `hosts` (IP literals as IP
// entries, the rest as DNS names; wildcard addresses such as 0.0.0.0 are
// skipped) plus localhost, 127.0.0.1 and ::1. An existing pair is reused when
// the key matches the certificate, it is valid for at least another day and
// its names cover `hosts`; otherwise both files are replaced. Returns
// {cert_file, key_file}.
absl::StatusOr<std::pair<std::string, std::string>> EnsureSelfSignedCert(
    const std::string& dir, const std::vector<std::string>& hosts);

// The subjectAltName entries of a PEM certificate, as "DNS:name" / "IP:addr"
// (for tests and diagnostics).
absl::StatusOr<std::vector<std::string>> CertificateNames(const std::string& cert_file);

}  // namespace argonaut::auth
