#!/bin/sh
# Creates the unprivileged user and the database directory that ward expects.
set -e
if ! getent passwd ward >/dev/null; then
	adduser --system --group --home /var/lib/ward --no-create-home ward
fi
install -d -o ward -g ward -m 0755 /var/lib/ward
install -d -m 0755 /etc/ward
