// Test helper: tar.gz archives written header by header, so tests can build the hostile ones
// no archiver would write (".." names, absolute names, links then writes through them, headers
// that announce more than they hold).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace argonaut::artifacts::testing {

struct TarMember {
  std::string name;
  char type = '0';  // '0' file, '5' directory, '2' symlink, '1' hard link
  uint64_t size = 0;
  uint32_t mode = 0644;
  std::string link;
};

// The 512-byte ustar header (names under 100 bytes).
std::string EncodeTarHeader(const TarMember& m);

// Writes (member, data) pairs gzip'd to `path`; data is padded to 512 bytes, never checked
// against the announced size.
void WriteTarGz(const std::string& path,
                const std::vector<std::pair<TarMember, std::string>>& members);

}  // namespace argonaut::artifacts::testing
