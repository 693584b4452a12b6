// The standalone events service: see lib/server/service_main.h for its flags.
#include "lib/server/service_main.h"

int main(int argc, char** argv) { return argonaut::server::RunServiceMain(argc, argv, "events"); }
