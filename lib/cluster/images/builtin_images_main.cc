// `builtin_images NAME args...`: runs a built-in image program (see builtin.h).
#include "lib/cluster/images/builtin.h"

int main(int argc, char** argv) { return argonaut::cluster::RunBuiltinImage(argc - 1, argv + 1); }
