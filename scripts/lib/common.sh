# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# Shared by scripts/demo, scripts/test and scripts/deps: where things are,
# root handling, and a timed step runner for readable summaries.

DIME_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIME_BUILD=${DIME_BUILD_DIR:-$DIME_SRC/build}
DIME_BUILD_SAN=${DIME_BUILD_SAN_DIR:-$DIME_SRC/build-san}

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# dime_require_root "$@": the scripts create network namespaces and install
# packages, so they need root. Root (as on CI) runs directly; anyone else is
# re-executed through sudo with the same arguments.
dime_require_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	if command -v sudo >/dev/null 2>&1; then
		exec sudo --preserve-env=DIME_BUILD_DIR,DIME_BUILD_SAN_DIR,DIME_BUILD_FUZZ_DIR,DIME_FUZZ_SECONDS,DIME_KEEP_LOGS,CI -- "$0" "$@"
	fi
	die "$(basename "$0") needs root (it creates network namespaces and may install packages); run it as root"
}

# dime_build DIR [cmake options...]: configure and build everything.
# DIME_TARGETS (space-separated) limits the build to those targets.
dime_build() {
	local dir=$1 targets=()
	shift
	[ -z "${DIME_TARGETS:-}" ] || read -r -a targets <<<"--target $DIME_TARGETS"
	cmake -S "$DIME_SRC" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 ||
		{ cat "$dir.configure.log" >&2; die "cmake configure failed for $dir"; }
	cmake --build "$dir" -j "$(nproc)" "${targets[@]}" >"$dir.build.log" 2>&1 ||
		{ tail -n 60 "$dir.build.log" >&2; die "build failed in $dir (full log: $dir.build.log)"; }
}
