#!/usr/bin/env bash
# `make run`: wardd in the foreground on 127.0.0.1/::1 port 5353, filtering with the
# sample lists in blocklists/samples/ (loaded through file:// by `ward update`) and
# forwarding to the nameservers in /etc/resolv.conf.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "${1:-$top/build}" && pwd)"
run="$build/run"
mkdir -p "$run/db"

# Upstreams: every IP nameserver in resolv.conf, as JSON strings; 127.0.0.1:53 if none.
upstreams=$(awk '$1 == "nameserver" && $2 ~ /^[0-9a-fA-F.:]+$/ {
		addr = ($2 ~ /:/) ? "[" $2 "]:53" : $2 ":53";
		printf "%s\"%s\"", (n++ ? ", " : ""), addr }' /etc/resolv.conf 2>/dev/null || true)
[ -n "$upstreams" ] || upstreams='"127.0.0.1:53"'

sed -e "s|@SAMPLES@|$top/blocklists/samples|g" \
    -e "s|@DATABASE@|$run/db|g" \
    -e "s|\"@UPSTREAMS@\"|$upstreams|g" \
    "$top/packaging/ward-run.json" >"$run/ward.json"

"$build/tools/ward" update -c "$run/ward.json" --force || {
	rc=$?
	[ $rc -eq 2 ] || exit $rc # 2 = some feed failed, the rest is in the database
}
cat <<MSG

ward is starting on 127.0.0.1:5353 and [::1]:5353 (config: $run/ward.json).
Try, from another terminal:
  kdig @127.0.0.1 -p 5353 example.org            # forwarded upstream
  kdig @127.0.0.1 -p 5353 +edns bet365.com       # blocked (gambling): the EDE says why
  $build/tools/ward lookup -c $run/ward.json bet365.com
Stop with Ctrl-C.

MSG
exec "$build/resolver/wardd" -c "$run/ward.json"
