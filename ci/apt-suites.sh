#!/usr/bin/env bash
# Make the extra Debian suites that server binaries come from reachable for `apt-get download`,
# pinned low so that no later `apt-get install` upgrades the host from them.
set -euo pipefail
src=/etc/apt/sources.list.d/debian.sources
uri=$(awk '/^URIs:/ {print $2; exit}' "$src" 2>/dev/null || true)
key=$(awk '/^Signed-By:/ {print $2; exit}' "$src" 2>/dev/null || true)
uri=${uri:-http://deb.debian.org/debian}
key=${key:-/usr/share/keyrings/debian-archive-keyring.gpg}
cat >/etc/apt/sources.list.d/streammatrix-suites.sources <<SOURCES
Types: deb
URIs: $uri
Suites: bullseye bookworm-backports trixie
Components: main
Signed-By: $key
SOURCES
cat >/etc/apt/preferences.d/streammatrix-suites <<PREFS
Package: *
Pin: release n=bullseye
Pin-Priority: 100

Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100

Package: *
Pin: release n=trixie
Pin-Priority: 100
PREFS
apt-get update -qq
