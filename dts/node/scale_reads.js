// scale_reads.js - the seed's own ioredis Cluster code (docs: seed-distributed-caching.txt,
// "Read from replicas"), unchanged but for the addresses: a Cluster with
// redisOptions { password } and scaleReads 'slave', a set of a user then a get of it
// (the get may come from a replica), for dts/test_failover.py.
//
//   node scale_reads.js '{"nodes": [{"host": ..., "port": ...}, ...], "password": ...,
//                         "users": N, "limitMs": ...}'
//
// Prints {"set": <OK replies>, "first": <gets right after the set that saw the value>,
// "later": <gets of every user afterwards that saw it>} and exits 0; exits 2 when the
// time limit passes, 1 on an error.
'use strict';
const Redis = require('ioredis');

const o = JSON.parse(process.argv[2] || '{}');
setTimeout(() => {
  process.stderr.write(`time limit of ${o.limitMs} ms passed\n`);
  process.exit(2);
}, o.limitMs || 60000).unref();

async function main() {
  const cluster = new Redis.Cluster(o.nodes, {
    redisOptions: {
      password: o.password,
    },
    // Read from replicas
    scaleReads: 'slave',
  });
  cluster.on('error', () => {});
  let set = 0, first = 0, later = 0;
  try {
    for (let i = 0; i < o.users; i++) {
      const userData = { id: i, name: `user ${i}` };
      // Write (goes to master)
      set += (await cluster.set(`user:${i}`, JSON.stringify(userData))) === 'OK' ? 1 : 0;
      // Read (can come from replica)
      const data = await cluster.get(`user:${i}`);
      first += data === JSON.stringify(userData) ? 1 : 0;
    }
    for (let i = 0; i < o.users; i++) {
      const data = await cluster.get(`user:${i}`);
      later += data === JSON.stringify({ id: i, name: `user ${i}` }) ? 1 : 0;
    }
  } finally {
    cluster.disconnect();
  }
  return { set, first, later };
}

main().then((r) => {
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}, (e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
