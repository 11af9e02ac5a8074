// dashboard.js - wirecache-cp's live dashboard: loads /api/history once, then
// polls /api/stats every second and feeds uPlot charts, tiles and tables.
// For tests (and curious people) it leaves its state in the DOM: body
// data-updates (successful polls), data-points (chart points), data-last-ops,
// and on each chart data-points, data-ink (pixels of its series' colours
// drawn on its canvas) and data-ymin/data-ymax (the y scale uPlot drew with).
"use strict";

const MAX_POINTS = 600;
const POLL_MS = 1000;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
  "#e377c2"];

const state = { t: [], ops: [], hit: [], mem: [], lim: [], ev: [], p50: [], p95: [], p99: [],
  p999: [], rx: [], tx: [], cores: [], lastT: 0, updates: 0, charts: {} };

function $(id) { return document.getElementById(id); }

function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  return v.toFixed(digits === undefined ? 0 : digits);
}

function mib(b) { return b / 1048576; }

// bytes (per second) with SI prefixes, as network rates are usually given;
// short: fewer digits, for axis labels
function fmtBytes(v, short) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(short ? 1 : 2) + " GB";
  if (a >= 1e6) return (v / 1e6).toFixed(short ? 1 : 2) + " MB";
  if (a >= 1e3) return (v / 1e3).toFixed(short ? 0 : 1) + " kB";
  return v.toFixed(0) + " B";
}

function hexRgb(hex) {
  return [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
}

// Pixels drawn in any series' colour in the plotting area: > 0 once a line is drawn
// (lines may cover one another, so every series counts).
function ink(u) {
  if (u.series.length < 2 || !u.bbox.width || !u.bbox.height) return 0;
  const cols = u.series.slice(1).map((s, i) => hexRgb(COLORS[i % COLORS.length]));
  const img = u.ctx.getImageData(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height).data;
  let n = 0;
  for (let i = 0; i < img.length; i += 4) {
    if (img[i + 3] <= 128) continue;
    for (const [r, g, b] of cols) {
      if (Math.abs(img[i] - r) < 40 && Math.abs(img[i + 1] - g) < 40 &&
          Math.abs(img[i + 2] - b) < 40) {
        n++;
        break;
      }
    }
  }
  return n;
}

// more.yrange: a fixed [min, max] for the y axis. Without one uPlot fits the axis
// to the data, and a flat series is padded by its own value on both sides (a hit
// rate steady at 100% got an axis from 0 to 200%). more.ysize: the y axis' width.
function makeChart(id, labels, yfmt, more) {
  const el = $(id);
  const scales = { x: { time: true } };
  const yrange = more && more.yrange;
  if (yrange) scales.y = { range: () => yrange.slice() };
  const opts = {
    width: Math.max(320, el.clientWidth || 400), height: 200,
    scales,
    legend: { live: false },
    series: [{}].concat(labels.map((l, i) => ({ label: l, stroke: COLORS[i % COLORS.length],
      width: 2, spanGaps: false }))),
    axes: [{}, { size: (more && more.ysize) || 60, values: (u, vals) => vals.map(v => yfmt ? yfmt(v) : fmt(v, 1)) }],
    hooks: { draw: [u => {
      el.dataset.ink = String(ink(u));
      el.dataset.ymin = String(u.scales.y.min);
      el.dataset.ymax = String(u.scales.y.max);
    }] },
  };
  const data = [[]].concat(labels.map(() => []));
  const u = new uPlot(opts, data, el);
  el.dataset.points = "0";
  return u;
}

function ensureCoreChart(n) {
  if (state.charts.cores && state.charts.cores.series.length === n + 1) return;
  if (state.charts.cores) state.charts.cores.destroy();
  $("c-cores").innerHTML = "";
  const labels = [];
  for (let i = 0; i < n; i++) labels.push("lcore " + i);
  state.charts.cores = makeChart("c-cores", labels);
  while (state.cores.length < n) state.cores.push(state.t.map(() => null));
  state.cores.length = n;
}

function push(arr, v) {
  arr.push(v);
  if (arr.length > MAX_POINTS) arr.shift();
}

function addPoint(t, p) {
  push(state.t, t);
  push(state.ops, p.ops);
  push(state.hit, p.hit);
  push(state.mem, p.mem);
  push(state.lim, p.lim);
  push(state.ev, p.ev);
  push(state.p50, p.p50);
  push(state.p95, p.p95);
  push(state.p99, p.p99);
  push(state.p999, p.p999);
  push(state.rx, p.rx);
  push(state.tx, p.tx);
  for (let i = 0; i < state.cores.length; i++) push(state.cores[i], p.cores[i] ?? null);
}

function redraw() {
  const c = state.charts, t = state.t;
  c.ops.setData([t, state.ops]);
  c.hit.setData([t, state.hit]);
  c.mem.setData([t, state.mem, state.lim]);
  c.ev.setData([t, state.ev]);
  c.lat.setData([t, state.p50, state.p95, state.p99, state.p999]);
  c.net.setData([t, state.rx, state.tx]);
  if (c.cores) c.cores.setData([t].concat(state.cores));
  for (const id of ["c-ops", "c-hit", "c-mem", "c-evict", "c-lat", "c-cores", "c-net"])
    $(id).dataset.points = String(t.length);
  document.body.dataset.points = String(t.length);
}

function setTile(id, value, text) {
  const el = $(id);
  el.dataset.value = value === null || value === undefined ? "" : String(value);
  el.textContent = text;
}

function showStats(s) {
  $("node").textContent = s.node;
  const conn = $("conn");
  if (!s.attached) {
    conn.textContent = "dataplane not attached";
    conn.className = "badge bad";
    $("dp").textContent = s.error || "";
    return;
  }
  const d = s.dataplane, st = s.stats, r = s.rates, m = s.memory;
  conn.textContent = "attached";
  conn.className = "badge ok";
  $("dp").textContent = `wirecache-dp ${d.version}, pid ${d.pid}, up ${d.uptime_s} s, ` +
    `${d.workers} worker lcore(s), ${d.partitions} partition(s)`;
  const win = s.window.latency_us;
  setTile("t-ops", r ? r.ops_per_s : null, r ? fmt(r.ops_per_s) : "–");
  setTile("t-hit", s.window.hit_rate, s.window.hit_rate === null ? "–"
    : (s.window.hit_rate * 100).toFixed(1) + "%");
  // item bytes of the limit; the percentage is memory in use (items + index), as the alert sees it
  setTile("t-mem", m.used_bytes, `${fmt(mib(m.used_bytes), 1)} / ${fmt(mib(m.limit_bytes))} MiB ` +
    `(${(m.in_use_ratio * 100).toFixed(0)}% in use)`);
  setTile("t-items", st.curr_items, fmt(st.curr_items));
  setTile("t-evict", r ? r.evictions_per_s : null, r ? fmt(r.evictions_per_s, 1) : "–");
  setTile("t-p99", win.p99, win.p99 === null ? "–" : fmt(win.p99, 1) + " µs");
  setTile("t-conns", st.curr_connections, fmt(st.curr_connections));
  setTile("t-net", r ? r.rx_bytes_per_s : null,
    r ? `${fmtBytes(r.rx_bytes_per_s)}/s / ${fmtBytes(r.tx_bytes_per_s)}/s` : "–");
  $("t-net").dataset.rx = r ? String(r.rx_bytes_per_s) : "";
  $("t-net").dataset.tx = r ? String(r.tx_bytes_per_s) : "";
  document.body.dataset.lastOps = r ? String(r.ops_per_s) : "";

  const ab = $("alerts").tBodies[0];
  ab.innerHTML = "";
  for (const a of s.alerts.alerts) {
    const tr = ab.insertRow();
    tr.className = a.state;
    tr.dataset.alert = a.name;
    const since = a.since_ms ? new Date(a.since_ms).toLocaleTimeString() : "";
    for (const v of [a.name, a.state, since, a.message]) tr.insertCell().textContent = v;
  }
  const cb = $("cores").tBodies[0];
  cb.innerHTML = "";
  // partitions: how many the lcore owns; their ids in the next column (an lcore
  // owning partition 0 alone once read "0" here)
  for (const c of s.lcores) {
    const tr = cb.insertRow();
    tr.dataset.lcore = String(c.lcore);
    tr.dataset.partitions = String(c.partitions.length);
    for (const v of [c.lcore, fmt(c.ops_per_s), c.hit_rate === null ? "–"
      : (c.hit_rate * 100).toFixed(1) + "%", fmt(mib(c.memory_bytes), 1) + " MiB",
    c.p99_us === null ? "–" : fmt(c.p99_us, 1), c.partitions.length,
    c.partitions.map(p => "#" + p).join(" ")])
      tr.insertCell().textContent = v;
  }
  showReplication(s.stats || {});
  ensureCoreChart(s.lcores.length);
  if (r && r.time_ms > state.lastT) {
    state.lastT = r.time_ms;
    const li = s.latency_us.interval || {};
    addPoint(r.time_ms / 1000, {
      ops: r.ops_per_s, hit: r.hit_rate === null ? null : r.hit_rate * 100,
      mem: mib(m.used_bytes), lim: mib(m.limit_bytes), ev: r.evictions_per_s,
      p50: li.p50 ?? null, p95: li.p95 ?? null, p99: li.p99 ?? null, p999: li.p999 ?? null,
      rx: r.rx_bytes_per_s ?? null, tx: r.tx_bytes_per_s ?? null,
      cores: s.lcores.map(c => c.ops_per_s),
    });
    redraw();
  }
}

// The replication line: this node as a replica (its link to the master), or as a
// master (its replicas and how long since the furthest behind acknowledged).
function showReplication(st) {
  const el = $("repl-summary");
  if (st.replica_role) {
    el.dataset.role = "replica";
    el.textContent = "replica: link to the master " + (st.replica_link_up ? "up" : "DOWN" +
      (st.replica_link_down_seconds ? " for " + st.replica_link_down_seconds + " s" : "")) +
      ", master last heard " + (st.replica_master_last_io_seconds ?? 0) + " s ago, " +
      fmt(st.replica_stream_commands ?? 0) + " commands applied, " +
      (st.replica_full_syncs ?? 0) + " full sync(s)";
  } else {
    el.dataset.role = "master";
    const n = st.repl_replicas_connected ?? 0;
    el.textContent = n === 0 ? "master, no replicas" : "master of " + n + " replica(s): " +
      "furthest behind acknowledged " + (st.repl_max_lag_seconds ?? 0) + " s ago, " +
      fmtBytes(st.repl_output_bytes ?? 0, false) + " streamed, " +
      (st.repl_syncs_full ?? 0) + " full sync(s)";
  }
}

async function loadHistory() {
  try {
    const h = await (await fetch("/api/history", { cache: "no-store" })).json();
    ensureCoreChart(h.lcore_ops_per_s.length);
    for (let i = 0; i < h.t.length; i++) {
      addPoint(h.t[i], {
        ops: h.ops_per_s[i], hit: h.hit_rate[i] === null ? null : h.hit_rate[i] * 100,
        mem: mib(h.memory_bytes[i]), lim: mib(h.memory_limit[i]), ev: h.evictions_per_s[i],
        p50: h.p50_us[i], p95: h.p95_us[i], p99: h.p99_us[i], p999: h.p999_us[i],
        rx: h.rx_bytes_per_s ? h.rx_bytes_per_s[i] : null,
        tx: h.tx_bytes_per_s ? h.tx_bytes_per_s[i] : null,
        cores: h.lcore_ops_per_s.map(s => s[i]),
      });
      state.lastT = h.t[i] * 1000;
    }
    redraw();
  } catch (e) {
    console.log("history:", e);
  }
}

async function poll() {
  try {
    const s = await (await fetch("/api/stats", { cache: "no-store" })).json();
    showStats(s);
    state.updates++;
    document.body.dataset.updates = String(state.updates);
  } catch (e) {
    const conn = $("conn");
    conn.textContent = "control plane unreachable";
    conn.className = "badge bad";
  }
  setTimeout(poll, POLL_MS);
}

// The cluster panel (GET /api/cluster, every 2 s; hidden outside a cluster):
// epochs, etcd, and the slots still to move (open migrating/importing slots).
async function pollCluster() {
  try {
    const c = await (await fetch("/api/cluster", { cache: "no-store" })).json();
    const box = $("cluster");
    box.hidden = !c.enabled;
    if (c.enabled) {
      $("cl-summary").textContent = "cluster " + c.cluster_name + ": map epoch " +
        (c.epoch ?? "–") + ", dataplane epoch " + (c.dataplane_epoch ?? "–") +
        (c.etcd ? ", etcd up" : ", etcd UNREACHABLE");
      const left = c.slots_to_move ?? 0;
      $("cl-moves").dataset.left = String(left);
      $("cl-moves").textContent = left === 0 ? "no slot moves in progress"
        : "slots left to move: " + left + " (this node: sending " + c.slots_migrating +
          ", taking " + c.slots_importing + ")";
      const tb = $("cl-nodes").tBodies[0];
      tb.innerHTML = "";
      for (const n of c.nodes || []) {
        const tr = tb.insertRow();
        const role = n.role === "replica" ? "replica of " + (n.master || "").slice(0, 8)
          : "master";
        for (const v of [n.id.slice(0, 8) + (n.myself ? " (this)" : ""), n.ip + ":" + n.port,
          role, n.slot_count, n.alive ? "yes" : "NO"])
          tr.insertCell().textContent = v;
      }
    }
  } catch (e) {
    console.log("cluster:", e);
  }
  setTimeout(pollCluster, 2000);
}

function main() {
  state.charts.ops = makeChart("c-ops", ["ops/s"]);
  state.charts.hit = makeChart("c-hit", ["hit rate %"], v => fmt(v, 0), { yrange: [0, 100] });
  state.charts.mem = makeChart("c-mem", ["used", "limit"]);
  state.charts.ev = makeChart("c-evict", ["evictions/s"], v => fmt(v, 1));
  state.charts.lat = makeChart("c-lat", ["p50", "p95", "p99", "p99.9"], v => fmt(v, 1));
  state.charts.net = makeChart("c-net", ["in", "out"], v => fmtBytes(v, true), { ysize: 70 });
  loadHistory().then(poll);
  pollCluster();
}

main();
