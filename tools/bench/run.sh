#!/usr/bin/env bash
# run.sh BENCH_DIR [RESULTS_DIR] - run every benchmark of `make bench` in one
# go, save their JSON, plots and this run's printed output (last-run.txt)
# under RESULTS_DIR, and end with the machine-readable `name=value` lines of
# all of them. BENCH_QUICK=1 runs the short subset. RESULTS_DIR defaults to
# build/bench-results; only `make bench RECORD=1` passes bench/results, the
# committed record.
set -euo pipefail
dir=$1
out=${2:-build/bench-results}
mkdir -p "$out"
if [ -z "${WC_BENCH_TEED:-}" ]; then	# everything printed also goes to last-run.txt
	set +e
	WC_BENCH_TEED=1 "$0" "$@" 2>&1 | tee "$out/last-run.txt"
	exit "${PIPESTATUS[0]}"
fi
quick=()
[ "${BENCH_QUICK:-0}" = 1 ] && quick=(--quick)

log=$(mktemp)
cg=$(mktemp)
trap 'rm -f "$log" "$cg"' EXIT
echo "wirecache bench on $(nproc) cores, $(date -u +%FT%TZ), results in $out/"
"$dir/store_bench" "${quick[@]}" --json "$out/store.json" | tee -a "$log"
"$dir/container_bench" "${quick[@]}" --json "$out/container.json" | tee -a "$log"
"$dir/rdbload_bench" "${quick[@]}" --json "$out/rdbload.json" | tee -a "$log"
"$dir/rdbsave_bench" "${quick[@]}" --json "$out/rdbsave.json" | tee -a "$log"
echo "== memory per item: a node's --memory and memcached -m, the same keys (target: 2x its items for 32 B values)"
"$dir/mem_bench" "${quick[@]}" --json "$out/mem.json" | tee -a "$log"

echo "== memcached GET hit through the whole packet path (replay on a dataplane without a NIC)"
echo "   TCP vs UDP rate on one core (target: ratio at least 0.60)"
"$dir/get_replay" | tee -a "$log"
ratio=$(awk -F= '/^ratio.tcp_vs_udp_get=/ {print $2}' "$log")
declare -A instr
# One get_replay mode counted under callgrind (args: key, the log line's name, the mode and
# its options): instructions per request (its 4000) into instr[key] and the log as instr.name.
count_instr() {
	local key=$1 name=$2
	shift 2
	valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$cg" \
		"$dir/get_replay" --callgrind "$@" >/dev/null 2>&1
	instr[$key]=$(( $(awk '/^totals:/ {print $2}' "$cg") / 4000 ))
	echo "instr.$name=${instr[$key]}" >>"$log"
}
# software checksums (memif, tap: the links measured here), then with a NIC's checksum offload
for proto in udp tcp resp; do
	for mode in "" offload; do
		count_instr "$proto$mode" "${proto}_get${mode:+_$mode}" "$proto" ${mode:+--$mode}
	done
done
# the same UDP GETs handed over in rx bursts of 32, as the worker loop takes them (staged path)
for mode in "" offload; do
	count_instr "udp_burst$mode" "udp_get_burst32${mode:+_$mode}" udp_burst ${mode:+--$mode}
done
# GETs pipelined 8 to a segment, as a loaded connection sends them (netbench: 8 deep per
# flow): the pipelined fast paths (net/mc_tcp.c, net/rd_tcp_pipe.c)
for proto in tcp_pipe resp_pipe; do
	count_instr "$proto" "${proto%_pipe}_get_pipe8" "$proto"
done
# SETs over TCP (memcached and Redis, one to a segment), then pipelines of 8 with one SET
# among the GETs (netbench's GET:SET 95:5 at its worst): per request
for proto in tcp_set resp_set; do
	count_instr "$proto" "$proto" "$proto"
done
for proto in tcp_mix resp_mix; do
	count_instr "$proto" "${proto%_mix}_mix_pipe8" "$proto"
done
# the cache-aside writes, one to a segment: Redis SET with a TTL, Redis DEL, memcached delete
for proto in resp_setex resp_del tcp_delete; do
	count_instr "$proto" "$proto" "$proto"
done
echo "  instructions per cache-aside write (callgrind): RESP SET EX ${instr[resp_setex]}," \
	"RESP DEL ${instr[resp_del]}, memcached TCP delete ${instr[tcp_delete]}" | tee -a "$log"
# the counters, one to a segment (Redis INCR, memcached incr)
for proto in resp_incr tcp_incr; do
	count_instr "$proto" "$proto" "$proto"
done
echo "  instructions per counter (callgrind): RESP INCR ${instr[resp_incr]}," \
	"memcached TCP incr ${instr[tcp_incr]}" | tee -a "$log"
echo "  instructions per request (callgrind): SET memcached TCP ${instr[tcp_set]}," \
	"RESP ${instr[resp_set]}; pipelines of 8 with one SET: memcached TCP" \
	"${instr[tcp_mix]}, RESP ${instr[resp_mix]}" | tee -a "$log"
# gets of 8 keys, all hits, one to a segment (memcached "get k1 ... k8", Redis MGET): per key
for proto in tcp_mget resp_mget; do
	count_instr "$proto" "${proto}8_per_key" "$proto"
done
echo "  instructions per key of a get of 8 keys, all hits (callgrind): memcached TCP" \
	"${instr[tcp_mget]}, RESP MGET ${instr[resp_mget]}" | tee -a "$log"
echo "  instructions per GET hit (callgrind): udp ${instr[udp]} (target: under 1000)," \
	"tcp ${instr[tcp]} (target: under 1500)" | tee -a "$log"
echo "  with checksum offload (a NIC, not memif/tap): udp ${instr[udpoffload]}," \
	"tcp ${instr[tcpoffload]}" | tee -a "$log"
echo "  UDP GETs in rx bursts of 32: ${instr[udp_burst]} each (target: under 800)," \
	"with offload ${instr[udp_burstoffload]}" | tee -a "$log"
echo "  GETs pipelined 8 to a segment (as under load): memcached TCP" \
	"${instr[tcp_pipe]}, RESP ${instr[resp_pipe]}" | tee -a "$log"
echo "  Redis GET hit (RESP over the same TCP): ${instr[resp]} (target: under 1500)," \
	"with offload ${instr[respoffload]}; RESP/memcached-TCP rate in the replay:" \
	"$(awk -F= '/^ratio.resp_vs_tcp_get=/ {print $2}' "$log") (target: at least 0.9)" | tee -a "$log"
trk_new=$(awk -F= '/^ratio.resp_tracking_vs_off_get=/ {print $2}' "$log")
trk_again=$(awk -F= '/^ratio.resp_tracking_again_vs_off_get=/ {print $2}' "$log")
echo "  Redis GET rate with CLIENT TRACKING on vs off, same run (target: at least 0.90):" \
	"reads of keys the client has not read before ${trk_new}, reads again ${trk_again}" |
	tee -a "$log"
printf '{\n  "instr.udp_get": %s,\n  "instr.udp_get_burst32": %s,\n  "instr.udp_get_burst32_offload": %s,\n  "instr.tcp_get": %s,\n  "instr.resp_get": %s,\n  "instr.udp_get_offload": %s,\n  "instr.tcp_get_offload": %s,\n  "instr.resp_get_offload": %s,\n  "ratio.tcp_vs_udp_get": %s,\n  "ratio.resp_vs_tcp_get": %s,\n  "ratio.resp_tracking_vs_off_get": %s,\n  "ratio.resp_tracking_again_vs_off_get": %s\n}\n' \
	"${instr[udp]}" "${instr[udp_burst]}" "${instr[udp_burstoffload]}" "${instr[tcp]}" \
	"${instr[resp]}" "${instr[udpoffload]}" "${instr[tcpoffload]}" \
	"${instr[respoffload]}" "$ratio" "$(awk -F= '/^ratio.resp_vs_tcp_get=/ {print $2}' "$log")" \
	"$trk_new" "$trk_again" >"$out/get.json"

echo "== keyspace events while nobody listens (notify-keyspace-events \"\" vs KEA, no subscriber)"
"$dir/get_replay" --keyev | tee -a "$log"
for n in "" 1; do
	GET_REPLAY_NOTIFY=$n count_instr "tcp_set_notify$n" "tcp_set_notify${n:+_on}" tcp_set
done
echo "  instructions per memcached SET over TCP: notifications off" \
	"$(awk -F= '/^instr.tcp_set_notify=/ {print $2}' "$log"), on with nobody listening" \
	"$(awk -F= '/^instr.tcp_set_notify_on=/ {print $2}' "$log")" | tee -a "$log"

echo "== network: the link's ceiling, wirecache over UDP and TCP, memcached and redis"
net=(--quick)
[ "${BENCH_QUICK:-0}" = 1 ] || net=()
[ -n "${CORES:-}" ] && net+=(--cores "$CORES")
/usr/bin/python3 tools/bench/netbench.py "$(dirname "$dir")" --results "$out" "${net[@]}" |
	tee -a "$log"

echo "== redis-benchmark against a node and against redis-server"
rb=()
[ "${BENCH_QUICK:-0}" = 1 ] && rb=(--quick)
/usr/bin/python3 tools/bench/redisbench.py --results "$out" "${rb[@]}" | tee -a "$log"

echo "== PUBLISH fan-out: messages delivered per second per core, beside redis-server"
"$dir/pubsub_replay" | tee -a "$log"
/usr/bin/python3 tools/bench/pubsubbench.py --results "$out" "${rb[@]}" | tee -a "$log"

echo "== summary"
grep -E '^(ratio|store|mem|latency|instr)\.[a-zA-Z0-9_.]+=' "$log" || true
