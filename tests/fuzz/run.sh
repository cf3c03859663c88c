#!/usr/bin/env bash
# Runs every libFuzzer target in $FUZZ_BUILD for $FUZZ_SECONDS each, starting from its
# seed corpus (copied, so the committed corpus only grows by hand).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${FUZZ_BUILD:-build-fuzz}"
seconds="${FUZZ_SECONDS:-20}"
status=0
shopt -s nullglob
for src in "$here"/fuzz_*.c; do
	name="$(basename "$src" .c)"
	parser="${name#fuzz_}"
	bin="$build/tests/$name"
	[ -x "$bin" ] || { echo "missing $bin" >&2; status=1; continue; }
	work="$(mktemp -d)"
	cp -r "$here/$parser.in/." "$work/" 2>/dev/null || true
	echo "fuzzing $name for ${seconds}s"
	if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$build/$name-" "$work" >"$build/$name.log" 2>&1; then
		echo "$name found a problem; see $build/$name.log" >&2
		tail -40 "$build/$name.log" >&2
		status=1
	fi
	rm -rf "$work"
done
exit $status
