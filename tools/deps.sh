#!/usr/bin/env bash
# deps.sh - every Debian package wirecache needs to build, test, benchmark and
# run, and what each one is needed for.
#
#   tools/deps.sh           install the missing packages and Node modules (`make deps`
#                           runs it, then --check)
#   tools/deps.sh --check   check that every program, C library, header, Python
#                           and Node module the project uses is there; name the
#                           package of each missing one; exit 1 if any is missing
#
# DEPS is the one table: KIND NAME PACKAGE, one line per thing used, so a new
# dependency is one line (the packages to install are those of the table).
#   prog    a program the build, tests, tools or benchmarks run (command -v)
#   pc      a C library with a pkg-config file (pkg-config --exists)
#   header  a C header with no .pc of its own (the C preprocessor finds it)
#   file    a file no program or .pc names, e.g. a compiler runtime (a glob)
#   py      a Python module, imported by Debian's /usr/bin/python3
# Node modules are not in the table: for each package.json in the tree
# (outside node_modules and build/), --check wants node and npm and every
# dependency in node_modules next to it. Installing adds Debian's nodejs and
# npm where `node` (or `npm`) is missing (a node from elsewhere is kept), then
# runs `npm ci --prefix FOLDER` (the committed package-lock.json, exactly)
# where node_modules is missing or was made from another lockfile.
#
# For deps.sh's own test: $WC_DEPS_EXTRA adds table lines, $WC_DEPS_ROOT is the
# tree searched for package.json (default: the repository).
set -euo pipefail

DEPS="
prog   gcc               build-essential
prog   make              build-essential
header sanitizer/asan_interface.h build-essential
prog   pkg-config        pkg-config
prog   clang             clang
file   /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a libclang-rt-14-dev
pc     libdpdk           libdpdk-dev
pc     liburcu-qsbr      liburcu-dev
pc     liburcu-cds       liburcu-dev
pc     cmocka            libcmocka-dev
pc     libxxhash         libxxhash-dev
pc     jansson           libjansson-dev
pc     inih              libinih-dev
pc     libmicrohttpd     libmicrohttpd-dev
pc     libcrypto         libssl-dev
pc     libcurl           libcurl4-openssl-dev
prog   etcd              etcd-server
prog   etcdctl           etcd-client
prog   valgrind          valgrind
header valgrind/callgrind.h valgrind
prog   /usr/bin/python3  python3
py     pytest            python3-pytest
py     pymemcache        python3-pymemcache
py     redis             python3-redis
prog   ip                iproute2
prog   nft               nftables
prog   bridge            iproute2
prog   ping              iputils-ping
prog   arping            arping
prog   pgrep             procps
prog   pkill             procps
prog   sysctl            procps
prog   nc                netcat-openbsd
prog   hping3            hping3
prog   ethtool           ethtool
prog   flock             util-linux
prog   taskset           util-linux
prog   mount             mount
prog   timeout           coreutils
prog   memccapable       libmemcached-tools
prog   memcslap          libmemcached-tools
prog   memccp            libmemcached-tools
prog   memccat           libmemcached-tools
prog   memcrm            libmemcached-tools
prog   memcstat          libmemcached-tools
prog   memcflush         libmemcached-tools
prog   chromium          chromium
prog   dpdk-testpmd      dpdk-dev
prog   memcached         memcached
prog   redis-server      redis-server
prog   redis-cli         redis-tools
prog   redis-benchmark   redis-tools
prog   redis-check-rdb   redis-tools
prog   tclsh             tcl
prog   gnuplot           gnuplot-nox
${WC_DEPS_EXTRA:-}
"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE_ROOT=${WC_DEPS_ROOT:-$ROOT}

# ---- --check ----

missing_pkgs=()
npm_dirs=()
nmissing=0
miss() {	# what, package
	echo "deps: missing $1 (Debian package $2)" >&2
	nmissing=$((nmissing + 1))
	[[ " ${missing_pkgs[*]} " == *" $2 "* ]] || missing_pkgs+=("$2")
}

have() {	# kind name
	case $1 in
	prog) command -v "$2" >/dev/null 2>&1;;
	pc) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$2";;
	header) printf '#include <%s>\n' "$2" | cc -E -x c - >/dev/null 2>&1;;
	file) compgen -G "$2" >/dev/null;;
	py) [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $2" >/dev/null 2>&1;;
	*) echo "deps: unknown kind '$1' in the table" >&2; return 1;;
	esac
}

describe() {	# kind name
	case $1 in
	prog) echo "program $2";;
	pc) echo "C library $2 (pkg-config)";;
	header) echo "C header <$2>";;
	file) echo "file $2";;
	py) echo "Python module $2 (for /usr/bin/python3)";;
	esac
}

check_node() {
	local pj dir mods m
	while IFS= read -r pj; do
		dir=$(dirname "$pj")
		have prog node || miss "program node (for $pj)" nodejs
		have prog npm || miss "program npm (for $pj)" npm
		[ -x /usr/bin/python3 ] || continue	# the table's line for python3 said so
		mods=$(/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
for k in ("dependencies", "devDependencies"):
    for name in sorted(d.get(k) or {}):
        print(name)' "$pj") || { miss "a readable $pj" nodejs; continue; }
		for m in $mods; do
			[ -f "$dir/node_modules/$m/package.json" ] && continue
			echo "deps: missing Node module $m (${dir#"$NODE_ROOT"/}/package.json)" >&2
			nmissing=$((nmissing + 1))
			[[ " ${npm_dirs[*]} " == *" $dir "* ]] || npm_dirs+=("$dir")
		done
	done < <(find "$NODE_ROOT" \( -name node_modules -o -name build -o -name .git \) -prune -o \
		-name package.json -type f -print | sort)
}

check() {
	local kind name pkg d
	while read -r kind name pkg; do
		[ -n "$kind" ] || continue
		have "$kind" "$name" || miss "$(describe "$kind" "$name")" "$pkg"
	done <<<"$DEPS"
	check_node
	if [ "$nmissing" -ne 0 ]; then
		echo "deps: $nmissing missing" >&2
		[ ${#missing_pkgs[@]} -eq 0 ] || echo "deps: install them with: make deps" \
			"(or apt-get install ${missing_pkgs[*]})" >&2
		for d in "${npm_dirs[@]}"; do echo "deps: Node modules: npm ci --prefix $d" >&2; done
		return 1
	fi
	echo "deps: everything wirecache uses is installed"
}

if [ "${1:-}" = "--check" ]; then
	check
	exit
fi
[ $# -eq 0 ] || { sed -n '2,25p' "$0"; exit 2; }

# ---- install ----

# the packages of the table, each once; Debian's nodejs and npm where a
# package.json wants them and the program is missing (a node installed from
# elsewhere, with its own npm, conflicts with Debian's npm package)
mapfile -t PACKAGES < <(awk 'NF == 3 { print $3 }' <<<"$DEPS" | awk '!seen[$0]++')
mapfile -t NODE_DIRS < <(find "$NODE_ROOT" \( -name node_modules -o -name build -o -name .git \) \
	-prune -o -name package.json -type f -print | sort | xargs -r -n1 dirname)
if [ ${#NODE_DIRS[@]} -gt 0 ]; then
	command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
	command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

SUDO=""
if [ ${#missing[@]} -ne 0 ]; then
	echo "deps: installing ${missing[*]}"
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
fi

# Node modules: `npm ci` (exactly the committed lockfile) where node_modules is
# missing or was installed from another lockfile; the lockfile's hash is kept in
# node_modules/.wc-lock-sha256 after a successful install
for d in "${NODE_DIRS[@]}"; do
	[ -f "$d/package-lock.json" ] || { echo "deps: $d has no package-lock.json" >&2; exit 1; }
	want=$(sha256sum "$d/package-lock.json" | cut -d' ' -f1)
	have=$(cat "$d/node_modules/.wc-lock-sha256" 2>/dev/null || true)
	[ "$want" = "$have" ] && continue
	echo "deps: npm ci --prefix $d"
	npm ci --prefix "$d" --no-audit --no-fund --loglevel=error
	echo "$want" >"$d/node_modules/.wc-lock-sha256"
done
