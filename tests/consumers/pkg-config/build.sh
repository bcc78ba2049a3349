#!/bin/sh
# SPDX-License-Identifier: MIT
# Consumes an installed kettle through pkg-config:
#   PKG_CONFIG_PATH=<prefix>/share/pkgconfig sh build.sh
# kettle.pc does not choose the language standard: the consumer passes -std.
set -eu
cd "$(dirname "$0")"
${CXX:-c++} -std=c++20 $(pkg-config --cflags kettle) main.cpp -o consumer $(pkg-config --libs kettle)
