#!/usr/bin/env bash
# run.sh BENCH_DIR - run every benchmark of `make bench` in one go, save
# their JSON under bench/results/, and end with the machine-readable
# `ratio.*` lines of all of them. BENCH_QUICK=1 runs the short subset.
set -euo pipefail
dir=$1
out=bench/results
mkdir -p "$out"
quick=()
[ "${BENCH_QUICK:-0}" = 1 ] && quick=(--quick)

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "wirecache bench on $(nproc) cores, $(date -u +%FT%TZ)"
"$dir/store_bench" "${quick[@]}" --json "$out/store.json" | tee -a "$log"
echo "== summary"
grep -E '^(ratio|store|latency|instr)\.[a-z0-9_.]+=' "$log" || true
