#!/usr/bin/env bash
# make test-cross: ward on router CPUs, proven here with qemu-user.
#   arm64 (most current routers): cross-built with Debian multiarch, the unit tests and
#     corpus replays run under qemu-aarch64, then a wardd smoke test: an arm64 ward update
#     builds the database and an arm64 wardd answers one blocked and one forwarded query.
#   s390x (64-bit big-endian): cross-built against a sysroot of Debian's s390x packages,
#     the unit tests and corpus replays run under qemu-s390x; this catches byte-order
#     mistakes in the wire and LMDB code.
# Both builds are made without libsystemd and without man pages, like an OpenWrt build.
# Usage: tests/cross/run.sh [BUILD_ROOT] [arm64|s390x]...
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
root="$(mkdir -p "${1:-$top/build-cross}" && cd "${1:-$top/build-cross}" && pwd)"
shift || true
arches=("${@:-arm64 s390x}")
jobs="${JOBS:-$(nproc)}"
# Wall-clock limits in tests are for native CPUs; qemu-user runs 10-50x slower.
export WARD_TEST_TIME_SCALE=50
common=(-DWARD_SYSTEMD=OFF -DWARD_MAN=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo)

# The s390x libraries, unpacked (not installed) into a sysroot: see cmake/toolchain-s390x.cmake.
s390x_sysroot() {
	local sysroot="$root/sysroot-s390x" debs="$root/debs-s390x"
	local want="libldns-dev:s390x libuv1-dev:s390x liblmdb-dev:s390x libcjson-dev:s390x
		libcmocka-dev:s390x libcurl4-openssl-dev:s390x libpsl-dev:s390x
		libmicrohttpd-dev:s390x libssl-dev:s390x libidn2-dev:s390x"
	# The marker holds the list it was made from: a sysroot from a shorter list is redone.
	[ "$(cat "$sysroot/.complete" 2>/dev/null)" = "$(echo $want)" ] && return 0
	rm -rf "$sysroot" "$debs" && mkdir -p "$sysroot" "$debs"
	local pkgs
	pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances $want 2>/dev/null | grep -v '^[ <]' | sort -u |
		grep -v -E '^(libc6|libc6-dev|libgcc-s1|gcc-12-base|libcrypt1|libcrypt-dev|linux-libc-dev):')
	(cd "$debs" && apt-get download -q $pkgs >/dev/null)
	for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$sysroot"; done
	echo $want >"$sysroot/.complete"
}

# qemu-user backs the part of a file mapping beyond the file's end with anonymous memory,
# so LMDB's 64 GiB map fails there (more than RAM + swap) although a real arm64 kernel maps
# it without committing anything. The bench's LD_PRELOAD shim caps maps at 4 GiB for the
# emulated runs only (LMDB still grows a map that is too small for the data).
shim() { # cc out
	"$1" -shared -fPIC -O2 -o "$2" "$top/tests/bench/lmdb_mapsize_shim.c"
}

build() { # arch toolchain cc emulator extra-cmake-args...
	local arch=$1 toolchain=$2 cc=$3 emulator=$4
	shift 4
	local dir="$root/$arch"
	mkdir -p "$dir"
	shim "$cc" "$dir/lmdb_mapsize_shim.so"
	emulator="$emulator;-E;LD_PRELOAD=$dir/lmdb_mapsize_shim.so"
	cmake -S "$top" -B "$dir" --toolchain "$top/cmake/$toolchain" "${common[@]}" \
		-DCMAKE_CROSSCOMPILING_EMULATOR="$emulator" "$@" >/dev/null
	cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1 || { tail -40 "$dir.build.log"; return 1; }
	file "$dir/resolver/wardd" | sed "s|$root/||"
}

unit_tests() { # arch
	(cd "$root/$1" && ctest --output-on-failure -j"$jobs" -L 'unit|fuzz' --timeout 900)
}

status=0
for arch in ${arches[@]}; do
	t0=$(date +%s)
	case $arch in
	arm64)
		build arm64 toolchain-aarch64.cmake aarch64-linux-gnu-gcc qemu-aarch64 \
			|| { status=1; continue; }
		unit_tests arm64 || status=1
		WARD_CROSS_BUILD="$root/arm64" \
			WARD_CROSS_RUN="qemu-aarch64 -E LD_PRELOAD=$root/arm64/lmdb_mapsize_shim.so" \
			/usr/bin/python3 "$top/tests/cross/smoke.py" || status=1
		;;
	s390x)
		s390x_sysroot
		sysroot="$root/sysroot-s390x"
		libpath="$sysroot/lib/s390x-linux-gnu:$sysroot/usr/lib/s390x-linux-gnu"
		WARD_SYSROOT="$sysroot" build s390x toolchain-s390x.cmake s390x-linux-gnu-gcc \
			"qemu-s390x;-L;/usr/s390x-linux-gnu;-E;LD_LIBRARY_PATH=$libpath" \
			-DWARD_SYSROOT="$sysroot" || { status=1; continue; }
		unit_tests s390x || status=1
		;;
	*) echo "unknown architecture $arch" >&2; status=1 ;;
	esac
	echo "test-cross $arch: $(( $(date +%s) - t0 )) s"
done
exit $status
