// Prints the stamp of this binary, one "key value" a line (to inspect what a build stamped).
#include <iostream>

#include "lib/buildinfo/build_info.h"

int main() {
  const argonaut::buildinfo::BuildInfo& b = argonaut::buildinfo::Stamp();
  std::cout << "gitCommit " << b.git_commit << "\ngitTreeState " << b.git_tree_state << "\ngitTag "
            << b.git_tag << "\nbuildDate " << b.build_date << "\n";
  return 0;
}
