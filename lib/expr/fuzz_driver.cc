// Deterministic stand-in for libFuzzer so the harness runs under `bazel
// test` with gcc: mutates seed expressions with a fixed-seed generator and
// feeds them to LLVMFuzzerTestOneInput, bounded in count and wall time.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

const char* const kSeeds[] = {
    "result[0] >= 0.95 && len(result) > 0",
    "filter(users, .age > 18) | map(.name)",
    "sprig.replace('a', 'b', s) + sprig.upper(t)",
    "jsonpath(json, '$.a[2].b') ?? 'none'",
    "a + b * 2 ** 3 % 4 - -1",
    "s matches '^s' and 'x' in strs or arr[-1:] == [3]",
    "let x = m.n.d[1].e; x > 1 ? {k: x} : [x, 1..3]",
    "reduce(arr, #acc + #, 0) / len(arr)",
    "asInt(inputs.parameters.x) + 1",
    "heads == heads && 5 > 3",
    "m?.k?.z ?? sprig.default('d', n)",
    "toJSON(fromJSON(json)) contains 'b'",
    "sortBy(users, .age, 'desc')[0].name startsWith 'a'",
    "(((((a)))))",
    "'\\u00e9' + `raw` + \"\\x41\"",
    "cronworkflow.lastScheduledTime == nil || (now() - cronworkflow.lastScheduledTime).Seconds() "
    "> 360",
    "date('2024-01-01T00:00:00+02:00').Format('Mon Jan _2 15:04:05.000 MST 2006') + du.String()",
    "tm.AddDate(0, 1, 0).Sub(tm).Hours() > duration('1h30m').Minutes()",
    "date('14/08/2023', '02/01/2006', 'Europe/Zurich').UTC() < tm + du * 2",
};

const char kAlphabet[] = "()[]{}.,:;?!#|&=<>+-*/%^'\"`\\ $@_aAz09.~";
const char* const kTokens[] = {"..",        "??",
                               "?.",        "**",
                               " not ",     " in ",
                               " matches ", "#",
                               "#acc",      "filter(",
                               "map(",      "repeat(",
                               "sprig.",    "jsonpath(",
                               "(",         ")",
                               "[",         "]",
                               "{",         "}",
                               "1e308",     "-9223372036854775808",
                               "''",        ".Seconds()",
                               "now()",     "duration('",
                               "date('",    ".Format('"};

std::string Mutate(std::string s, std::mt19937_64& rng) {
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 5) {
      case 0:  // insert a character
        s.insert(pos, 1, kAlphabet[rng() % (sizeof(kAlphabet) - 1)]);
        break;
      case 1:  // delete a range
        if (!s.empty() && pos < s.size()) s.erase(pos, 1 + rng() % 3);
        break;
      case 2:  // insert a token
        s.insert(pos, kTokens[rng() % (sizeof(kTokens) / sizeof(kTokens[0]))]);
        break;
      case 3:  // duplicate a slice (grows nesting)
        if (!s.empty() && pos < s.size()) {
          std::string slice = s.substr(pos, 1 + rng() % 8);
          s.insert(pos, slice);
        }
        break;
      default:  // flip a byte
        if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(rng() % 256);
    }
  }
  return s.size() > 4096 ? s.substr(0, 4096) : s;
}

}  // namespace

int main() {
  constexpr int kIterations = 5000;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::mt19937_64 rng(20240601);
  std::vector<std::string> pool(std::begin(kSeeds), std::end(kSeeds));
  int runs = 0;
  for (; runs < kIterations && std::chrono::steady_clock::now() < deadline; ++runs) {
    const std::string& base = pool[rng() % pool.size()];
    std::string input = Mutate(base, rng);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    // Keep some mutants as new bases so mutations compound.
    if (rng() % 8 == 0 && pool.size() < 512) pool.push_back(std::move(input));
  }
  for (const char* seed : kSeeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed),
                           std::char_traits<char>::length(seed));
  }
  std::printf("fuzz smoke: %d mutated inputs\n", runs);
  // The point is surviving every input; still fail if the time budget cut
  // the run to almost nothing, which would make the test vacuous.
  return runs >= 500 ? 0 : 1;
}
