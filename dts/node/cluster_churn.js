// cluster_churn.js - a Redis Cluster client (ioredis's Cluster or node-redis's
// createCluster) writing and reading keys of its own for a while, one command
// at a time, for dts/test_cluster_reshard.py: slots move meanwhile, and the
// client must follow MOVED and ASK without losing a write or reading an old
// value. It knows what every read must return: the last acknowledged write of
// that key (or, after a failed write, that write's value too).
//
//   node cluster_churn.js '{"client": "ioredis"|"node_redis", "host": ..., "port": ...,
//                           "ms": RUN_MS, "prefix": ..., "keys": N}'
//
// Prints {"client", "ops", "errors", "stale", "lost", "examples"} and exits 0 (1 on a
// setup error); examples: the first few stale reads (key, got, want, when).
// "stale": reads that returned something else; "lost": keys that at the end
// do not hold their last acknowledged value.
'use strict';
const Redis = require('ioredis');
const { createCluster } = require('redis');

const o = JSON.parse(process.argv[2] || '{}');
const nkeys = o.keys || 300;
const keys = Array.from({ length: nkeys }, (_, n) => `${o.prefix}:{c${n % 89}}:${n}`);
const acked = new Map();
const maybe = new Map();
setTimeout(() => {
  process.stderr.write('hard time limit passed\n');
  process.exit(2);
}, (o.ms || 10000) + 60000).unref();

async function open() {
  if (o.client === 'ioredis') {
    const c = new Redis.Cluster([{ host: o.host, port: o.port }], {
      redisOptions: { connectTimeout: 5000, commandTimeout: 10000 },
      maxRedirections: 32, retryDelayOnTryAgain: 50,
    });
    c.on('error', () => {});
    return { set: (k, v) => c.set(k, v), get: (k) => c.get(k), close: () => c.disconnect() };
  }
  const c = createCluster({
    rootNodes: [{ socket: { host: o.host, port: o.port, connectTimeout: 5000 } }],
    defaults: { socket: { connectTimeout: 5000 } },
    maxCommandRedirections: 32,
  });
  c.on('error', () => {});
  await c.connect();
  return { set: (k, v) => c.set(k, v), get: (k) => c.get(k), close: () => c.disconnect() };
}

const okValue = (k, v) => v === acked.get(k) || (maybe.get(k) || new Set()).has(v);

async function main() {
  const c = await open();
  let ops = 0, errors = 0, stale = 0, lost = 0, seq = 0;
  const examples = [];
  const until = Date.now() + (o.ms || 10000);
  const pick = () => keys[Math.floor(Math.random() * keys.length)];
  try {
    while (Date.now() < until && seq < 1000000) {
      seq += 1;
      let k = pick();
      const v = `${k}-${seq}`;
      try {
        if ((await c.set(k, v)) !== 'OK') throw new Error('set answered otherwise');
        acked.set(k, v);
        maybe.delete(k);
      } catch (e) {
        errors += 1;
        if (!maybe.has(k)) maybe.set(k, new Set());
        maybe.get(k).add(v);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      k = pick();
      try {
        const got = await c.get(k);
        if (!okValue(k, got === null ? undefined : got)) {
          stale += 1;
          if (examples.length < 5) examples.push({ key: k, got, want: acked.get(k), at: Date.now() });
        }
      } catch (e) {
        errors += 1;
      }
      ops += 2;
    }
    for (const [k] of acked) {
      let got;
      try { got = await c.get(k); } catch (e) { got = `error ${e}`; }
      if (!okValue(k, got)) lost += 1;
    }
  } finally {
    await c.close();
  }
  return { client: o.client, ops, errors, stale, lost, examples };
}

main().then((r) => {
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}, (e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
