#include "lib/artifacts/testing_tar.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace argonaut::artifacts::testing {
namespace {

void PutOctal(char* dst, size_t width, uint64_t v) {
  dst[width - 1] = '\0';
  for (size_t i = width - 1; i > 0; --i) {
    dst[i - 1] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
}

}  // namespace

std::string EncodeTarHeader(const TarMember& m) {
  std::string b(512, '\0');
  std::memcpy(&b[0], m.name.data(), std::min<size_t>(m.name.size(), 100));
  PutOctal(&b[100], 8, m.mode & 07777);
  PutOctal(&b[108], 8, 0);
  PutOctal(&b[116], 8, 0);
  PutOctal(&b[124], 12, m.size);
  PutOctal(&b[136], 12, 0);
  std::memset(&b[148], ' ', 8);
  b[156] = m.type;
  std::memcpy(&b[157], m.link.data(), std::min<size_t>(m.link.size(), 100));
  std::memcpy(&b[257], "ustar", 6);
  b[263] = '0';
  b[264] = '0';
  unsigned sum = 0;
  for (char c : b) sum += static_cast<unsigned char>(c);
  std::snprintf(&b[148], 8, "%06o", sum);
  b[155] = ' ';
  return b;
}

void WriteTarGz(const std::string& path,
                const std::vector<std::pair<TarMember, std::string>>& members) {
  gzFile gz = gzopen(path.c_str(), "wb");
  for (const auto& [m, data] : members) {
    const std::string block = EncodeTarHeader(m);
    gzwrite(gz, block.data(), static_cast<unsigned>(block.size()));
    std::string padded = data;
    padded.resize((data.size() + 511) / 512 * 512, '\0');
    if (!padded.empty()) gzwrite(gz, padded.data(), static_cast<unsigned>(padded.size()));
  }
  static const char kEnd[1024] = {};
  gzwrite(gz, kEnd, sizeof(kEnd));
  gzclose(gz);
}

}  // namespace argonaut::artifacts::testing
