#!/usr/bin/env bash
# `make bench`: ward side by side with Unbound, dnsmasq and a do-nothing responder, on
# loopback, in one run. Usage: tests/bench/run.sh [BUILD_DIR]; BENCH_QUICK=1 for the
# short version. See tests/bench/README.md for what is measured and how.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../../build}" && pwd)"

# Debian installs these daemons in sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
missing=""
for tool in dnsperf unbound dnsmasq nsd valgrind callgrind_control taskset; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "bench: missing:$missing (make deps installs them)" >&2
	exit 1
fi
export WARD_SHARED_DATA="${WARD_SHARED_DATA:-$here/../../../shared/data}"
# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$here/bench.py" "$build"
