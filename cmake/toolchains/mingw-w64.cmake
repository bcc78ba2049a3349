# SPDX-License-Identifier: MIT
# Cross-compile for 64-bit Windows with MinGW-w64 (the POSIX-threads variant,
# which std::thread needs) and run the results under Wine.
#
#   cmake --preset mingw && cmake --build --preset mingw && ctest --preset mingw
#
# Executables are linked fully statically so they run under Wine without any
# MinGW runtime DLL on the path. Before many test runs, start a persistent
# server (`/usr/lib/wine/wineserver -p`; stop it with `-k`) so Wine does not
# start and stop one between tests; .ci/run does this in a throw-away WINEPREFIX.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(KETTLE_MINGW_TRIPLET x86_64-w64-mingw32 CACHE STRING "MinGW-w64 target triplet")

set(CMAKE_C_COMPILER ${KETTLE_MINGW_TRIPLET}-gcc-posix)
set(CMAKE_CXX_COMPILER ${KETTLE_MINGW_TRIPLET}-g++-posix)
set(CMAKE_RC_COMPILER ${KETTLE_MINGW_TRIPLET}-windres)

# Look for libraries, headers and packages in the MinGW sysroot only, never in
# the host's /usr (the host's Google Benchmark, for one, is a Linux library).
set(CMAKE_FIND_ROOT_PATH /usr/${KETTLE_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")

# ctest runs every test through the emulator. Debian installs the 64-bit loader
# off PATH, in /usr/lib/wine.
find_program(KETTLE_WINE NAMES wine64 wine HINTS /usr/lib/wine /usr/lib64/wine
    DOC "Wine loader used to run the cross-built tests")
if(KETTLE_WINE)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${KETTLE_WINE})
endif()
