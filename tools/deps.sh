#!/usr/bin/env bash
# deps.sh - install, only when missing, every Debian package wirecache needs
# to build, test, benchmark and run (called by `make deps`).
set -euo pipefail

PACKAGES=(
	build-essential pkg-config clang libclang-rt-14-dev
	libdpdk-dev dpdk liburcu-dev libcmocka-dev libxxhash-dev libjansson-dev libinih-dev
	valgrind python3 python3-pytest python3-pymemcache
	iproute2 iputils-ping arping procps netcat-openbsd hping3
	libmemcached-tools libmicrohttpd-dev chromium
	dpdk-dev memcached redis-server redis-tools gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# memcached and redis-server are only baselines for `make bench`, started by it
# on ports of its own: no system daemons
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	$SUDO systemctl disable --now memcached redis-server >/dev/null 2>&1 || true
fi
