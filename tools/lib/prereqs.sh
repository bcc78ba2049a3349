# SPDX-License-Identifier: MIT
# Shared by the kettle scripts: make sure Debian/Ubuntu packages are installed.
#
#   source tools/lib/prereqs.sh
#   kettle_require_packages cmake ninja-build catch2
#
# As root, missing packages are installed with apt-get (apt-get update runs once
# per script tree); otherwise the script stops and prints the command to run.
# On a system without dpkg nothing is checked: the build reports what is missing.

# Build tools every kettle script needs.
KETTLE_BUILD_PACKAGES=(g++ cmake ninja-build pkgconf)
# Tests: Catch2 (v2 or v3).
KETTLE_TEST_PACKAGES=(catch2)
# Benchmarks: Google Benchmark.
KETTLE_BENCH_PACKAGES=(libbenchmark-dev)
# Optional benchmark peers: the ratios the benchmarks report compare against them.
KETTLE_PEER_PACKAGES=(libasio-dev libconcurrentqueue-dev libboost-dev)

kettle_package_installed() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [[ $status == "install ok installed" ]]
}

# kettle_require_packages [--with-recommends] PACKAGE...
kettle_require_packages() {
    local recommends=--no-install-recommends
    if [[ ${1:-} == --with-recommends ]]; then
        recommends=
        shift
    fi
    if ! command -v dpkg-query >/dev/null 2>&1; then
        return 0
    fi
    local missing=() package
    for package in "$@"; do
        kettle_package_installed "$package" || missing+=("$package")
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        echo "kettle: missing packages: ${missing[*]} — install them with: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
    echo "kettle: installing ${missing[*]}" >&2
    if [[ -z ${KETTLE_APT_UPDATED:-} ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        export KETTLE_APT_UPDATED=1
    fi
    # shellcheck disable=SC2086 # $recommends is empty or one word
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $recommends "${missing[@]}"
}

# kettle_apt_update_if_missing PACKAGE...: as root, when any PACKAGE is missing,
# run apt-get update now (once), so later kettle_require_packages calls, in
# this script or in scripts it starts, skip it.
kettle_apt_update_if_missing() {
    if [[ -n ${KETTLE_APT_UPDATED:-} || $(id -u) -ne 0 ]] || ! command -v dpkg-query >/dev/null 2>&1; then
        return 0
    fi
    local package
    for package in "$@"; do
        if ! kettle_package_installed "$package"; then
            DEBIAN_FRONTEND=noninteractive apt-get update -qq
            export KETTLE_APT_UPDATED=1
            return 0
        fi
    done
}
