#!/usr/bin/env bash
# run.sh BENCH_DIR - run every benchmark of `make bench` in one go, save
# their JSON under bench/results/, and end with the machine-readable
# `name=value` lines of all of them. BENCH_QUICK=1 runs the short subset.
set -euo pipefail
dir=$1
out=bench/results
mkdir -p "$out"
quick=()
[ "${BENCH_QUICK:-0}" = 1 ] && quick=(--quick)

log=$(mktemp)
cg=$(mktemp)
trap 'rm -f "$log" "$cg"' EXIT
echo "wirecache bench on $(nproc) cores, $(date -u +%FT%TZ)"
"$dir/store_bench" "${quick[@]}" --json "$out/store.json" | tee -a "$log"

echo "== udp: instructions per memcached UDP GET hit (eth..reply, callgrind replay)"
"$dir/udp_replay" | tee -a "$log"
valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$cg" \
	"$dir/udp_replay" --callgrind >/dev/null 2>&1
ir=$(awk '/^totals:/ {print $2}' "$cg")
per=$(( ir / 4000 ))
echo "  $per instructions per request (target: under 1000)" | tee -a "$log"
echo "instr.udp_get=$per" >>"$log"
printf '{\n  "instr.udp_get": %s\n}\n' "$per" >"$out/udp.json"

echo "== summary"
grep -E '^(ratio|store|latency|instr)\.[a-z0-9_.]+=' "$log" || true
