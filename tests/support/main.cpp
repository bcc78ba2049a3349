// SPDX-License-Identifier: MIT
// The Catch2 runner, compiled once and linked into every kettle test executable.

#define CATCH_CONFIG_RUNNER // v2: emit Catch's implementation here, without its main()
#include "catch.hpp"

int main(int argc, char* argv[]) {
    return Catch::Session().run(argc, argv);
}
