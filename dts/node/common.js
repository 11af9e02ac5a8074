// common.js - what the client scripts share: the command line, a step runner that
// records each step's value or error, and a hard time limit.
//
//   node SCRIPT.js '{"host": ..., "port": ..., "password": ..., "features": [...],
//                    "scenarios": [...], "limitMs": ...}'
//
// Prints one JSON object, {scenario: [[step, {"ok": value} | {"err": [class, message]}]]},
// and exits 0; exits 2 with a message when the time limit passes.
'use strict';

function options() {
  const o = JSON.parse(process.argv[2] || '{}');
  o.features = new Set(o.features || []);
  o.limitMs = o.limitMs || 60000;
  setTimeout(() => {
    process.stderr.write(`time limit of ${o.limitMs} ms passed\n`);
    process.exit(2);
  }, o.limitMs).unref();
  return o;
}

// Values as JSON can carry them: Buffers as {buf: latin1 text}, Maps and Sets sorted,
// objects with sorted keys, so two servers' replies compare as equal when they are.
function plain(v) {
  if (v === undefined) return null;
  if (Buffer.isBuffer(v)) return { buf: v.toString('latin1') };
  if (v instanceof Error) return { error: [v.constructor.name, v.message] };
  if (v instanceof Map) return { map: [...v.entries()].map(([k, x]) => [plain(k), plain(x)]).sort(cmp) };
  if (v instanceof Set) return { set: [...v].map(plain).sort(cmp) };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = plain(v[k]);
    return out;
  }
  if (typeof v === 'bigint') return v.toString();
  return v;
}

function cmp(a, b) {
  const x = JSON.stringify(a), y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// Run steps [[name, async fn]] in order; an error is recorded, not thrown.
async function run(steps) {
  const out = [];
  for (const [name, fn] of steps) {
    try {
      out.push([name, { ok: plain(await fn()) }]);
    } catch (e) {
      out.push([name, { err: [e.constructor.name, e.message] }]);
    }
  }
  return out;
}

async function main(o, scenarios, close) {
  const result = {};
  try {
    for (const name of o.scenarios) {
      if (!scenarios[name]) throw new Error(`no scenario ${name}`);
      result[name] = await run(await scenarios[name]());
    }
  } finally {
    await close();
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

module.exports = { options, plain, run, main };
