// cluster_check.js - a Redis Cluster client (ioredis's Cluster or node-redis's
// createCluster) started from one node of the cluster: it discovers the others,
// writes one key per slot (the keys come in a file, one per slot) and
// reads them back, for dts/test_cluster.py.
//
//   node cluster_check.js '{"client": "ioredis"|"node_redis", "host": ..., "port": ...,
//                           "keysFile": FILE, "limitMs": ...}'
// FILE holds the keys as a JSON array (16384 of them: too many for a command line).
//
// Prints {"set": <keys written>, "same": <keys read back unchanged>} and exits 0;
// exits 2 when the time limit passes, 1 on an error.
'use strict';
const Redis = require('ioredis');
const { createCluster } = require('redis');

const fs = require('fs');

const o = JSON.parse(process.argv[2] || '{}');
o.keys = JSON.parse(fs.readFileSync(o.keysFile, 'utf8'));
setTimeout(() => {
  process.stderr.write(`time limit of ${o.limitMs} ms passed\n`);
  process.exit(2);
}, o.limitMs || 60000).unref();

const BATCH = 512;

async function viaIoredis() {
  const c = new Redis.Cluster([{ host: o.host, port: o.port }], {
    redisOptions: { connectTimeout: 5000, commandTimeout: 10000 },
    enableReadyCheck: true, maxRedirections: 16,
  });
  c.on('error', () => {});
  let set = 0, same = 0;
  try {
    for (let i = 0; i < o.keys.length; i += BATCH) {
      const part = o.keys.slice(i, i + BATCH);
      const r = await Promise.all(part.map((k, j) => c.set(k, `io${i + j}`)));
      set += r.filter((x) => x === 'OK').length;
    }
    for (let i = 0; i < o.keys.length; i += BATCH) {
      const part = o.keys.slice(i, i + BATCH);
      const r = await Promise.all(part.map((k) => c.get(k)));
      same += r.filter((x, j) => x === `io${i + j}`).length;
    }
  } finally {
    c.disconnect();
  }
  return { set, same };
}

async function viaNodeRedis() {
  const c = createCluster({
    rootNodes: [{ socket: { host: o.host, port: o.port, connectTimeout: 5000 } }],
    defaults: { socket: { connectTimeout: 5000, reconnectStrategy: false } },
  });
  c.on('error', () => {});
  await c.connect();
  let set = 0, same = 0;
  try {
    for (let i = 0; i < o.keys.length; i += BATCH) {
      const part = o.keys.slice(i, i + BATCH);
      const r = await Promise.all(part.map((k, j) => c.set(k, `nr${i + j}`)));
      set += r.filter((x) => x === 'OK').length;
    }
    for (let i = 0; i < o.keys.length; i += BATCH) {
      const part = o.keys.slice(i, i + BATCH);
      const r = await Promise.all(part.map((k) => c.get(k)));
      same += r.filter((x, j) => x === `nr${i + j}`).length;
    }
  } finally {
    await c.disconnect();
  }
  return { set, same };
}

(o.client === 'ioredis' ? viaIoredis() : viaNodeRedis()).then((r) => {
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}, (e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
