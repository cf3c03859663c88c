#!/usr/bin/env bash
# Router footprint (README "Router footprint"): stripped sizes of the arm64 binaries as a
# router package builds them (no libsystemd, no test hooks; -Os and -O2), then memory and
# database size with 100k and 1M names from a native build of the same options.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
out="$top/build-footprint"
opts=(-DWARD_SYSTEMD=OFF -DWARD_MAN=OFF -DWARD_TESTS=OFF -DWARD_TEST_HOOKS=OFF)
for type in MinSizeRel Release; do
	dir="$out/arm64-$type"
	cmake -S "$top" -B "$dir" --toolchain "$top/cmake/toolchain-aarch64.cmake" "${opts[@]}" \
		-DCMAKE_BUILD_TYPE=$type >/dev/null
	cmake --build "$dir" -j"$(nproc)" >/dev/null
	for bin in resolver/wardd tools/ward; do
		aarch64-linux-gnu-strip -o "$dir/$(basename $bin).stripped" "$dir/$bin"
		printf 'arm64 %-10s %-6s stripped: %7d bytes (%.0f KiB)\n' "$type" "$(basename $bin)" \
			"$(stat -c %s "$dir/$(basename $bin).stripped")" \
			"$(echo "$(stat -c %s "$dir/$(basename $bin).stripped") / 1024" | bc -l)"
	done
done
aarch64-linux-gnu-readelf -d "$out/arm64-MinSizeRel/wardd.stripped" | awk '/NEEDED/ {print "  needs", $5}'
cmake -S "$top" -B "$out" "${opts[@]}" -DCMAKE_BUILD_TYPE=MinSizeRel >/dev/null
cmake --build "$out" -j"$(nproc)" >/dev/null
/usr/bin/python3 "$top/tests/bench/footprint.py" "$out"
