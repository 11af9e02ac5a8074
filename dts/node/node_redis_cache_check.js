// node_redis_cache_check.js - node-redis 5 (installed as redis5) over RESP3 with its
// clientSideCache (CLIENT TRACKING ON, invalidate pushes) against one server; each
// scenario caches values, changes them another way and records, step by step, what
// the cached client then reads and whether it came from its cache ("hit") or the
// server ("miss"). Output as common.js prints it, for dts/test_redis_tracking.py.
//
// After a change made by another connection, the cached client sends PING before it
// reads again: the server must have delivered the invalidation before that PING's
// reply (tracking's ordering rule), so the read after it must not hit a stale entry.
// Changes with no writer to wait for (expiry, eviction) are awaited as the cache's
// 'invalidate' events, up to a limit.
//
// Extra options: mcPort (memcached over TCP on the same host, scenario "memcached"),
// evictBytes (how much to write to make the server evict, scenario "eviction").
'use strict';
const net = require('net');
const { createClient, BasicClientSideCache } = require('redis5');
const { options, main } = require('./common');

const o = options();
const opened = [];

async function client(extra) {
  const c = createClient({
    socket: { host: o.host, port: o.port, connectTimeout: 5000, reconnectStrategy: false },
    password: o.password || undefined, ...extra,
  });
  c.on('error', () => {});
  opened.push(c);
  await c.connect();
  return c;
}

// The cached client (RESP3, default tracking) and a plain writer.
async function pair() {
  const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0, recordStats: true });
  const c = await client({ RESP: 3, clientSideCache: cache });
  const w = await client();
  const heard = [];
  cache.on('invalidate', (k) => heard.push(k === null ? null : k.toString()));
  // a read: its value, and "hit" when the cache answered
  const read = async (k) => {
    const before = cache.stats().hitCount;
    const v = await c.get(k);
    return [v, cache.stats().hitCount > before ? 'hit' : 'miss'];
  };
  const sync = () => c.ping();
  return { c, w, cache, heard, read, sync };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Wait until pred() holds (true), or ms pass (false); PINGs keep the connection read.
async function until(p, pred, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await p.sync();
    if (pred()) return true;
    await sleep(50);
  }
  return pred();
}

// A memcached text-protocol command over TCP; resolves with the first reply line.
function memcached(port, text) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: o.host, port }, () => s.write(text));
    let got = '';
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('memcached timeout')); });
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) { s.end(); resolve(got.split('\r\n')[0]); }
    });
    s.on('error', reject);
  });
}

const scenarios = {
  async redis_write() {
    const p = await pair();
    await p.w.flushAll();
    return [
      ['tracking on', () => p.c.sendCommand(['CLIENT', 'TRACKINGINFO'])],
      ['set', () => p.w.set('k', 'v1')],
      ['read 1', () => p.read('k')], ['read 2', () => p.read('k')],
      ['other client writes', () => p.w.set('k', 'v2')],
      ['sync', () => p.sync()],
      ['read after write', () => p.read('k')], ['read again', () => p.read('k')],
      ['del', () => p.w.del('k')], ['sync 2', () => p.sync()],
      ['read after del', () => p.read('k')],
      ['heard', () => p.heard.filter((k) => k === 'k').length],
    ];
  },

  async mset50() {
    const p = await pair();
    const keys = Array.from({ length: 50 }, (_, i) => `m:${i}`);
    await p.w.flushAll();
    return [
      ['mset', () => p.w.mSet(keys.map((k) => [k, 'old']))],
      ['cache all', async () => { for (const k of keys) await p.read(k); return p.cache.size(); }],
      ['all hit', async () => {
        const r = []; for (const k of keys) r.push((await p.read(k))[1]); return [...new Set(r)];
      }],
      ['mset 50', () => p.w.mSet(keys.map((k) => [k, 'new']))],
      ['sync', () => p.sync()],
      ['cache size', () => p.cache.size()],
      ['reads', async () => {
        const r = new Set(); for (const k of keys) r.add(JSON.stringify(await p.read(k))); return [...r];
      }],
      ['heard', () => new Set(p.heard.filter((k) => k && k.startsWith('m:'))).size],
    ];
  },

  async expiry() {
    const p = await pair();
    await p.w.flushAll();
    return [
      ['set px', () => p.w.set('e', 'v', { PX: 300 })],
      ['read 1', () => p.read('e')], ['read 2', () => p.read('e')],
      ['invalidated', () => until(p, () => p.heard.includes('e'), 8000)],
      ['read after expiry', () => p.read('e')],
    ];
  },

  async flushall() {
    const p = await pair();
    await p.w.flushAll();
    return [
      ['set', () => p.w.mSet([['f1', 'a'], ['f2', 'b']])],
      ['read', async () => [await p.read('f1'), await p.read('f2')]],
      ['cached', () => p.cache.size()],
      ['flushall', () => p.w.flushAll()], ['sync', () => p.sync()],
      ['heard null', () => p.heard.includes(null)],
      ['cache size', () => p.cache.size()],
      ['read after', async () => [await p.read('f1'), await p.read('f2')]],
    ];
  },

  async memcached() {
    const p = await pair();
    await p.w.flushAll();
    return [
      ['set', () => p.w.set('mc', 'redis')],
      ['read 1', () => p.read('mc')], ['read 2', () => p.read('mc')],
      ['memcached set', () => memcached(o.mcPort, 'set mc 0 0 9\r\nmemcached\r\n')],
      ['sync', () => p.sync()],
      ['read after', () => p.read('mc')],
      ['memcached delete', () => memcached(o.mcPort, 'delete mc\r\n')],
      ['sync 2', () => p.sync()],
      ['read after delete', () => p.read('mc')],
    ];
  },

  async eviction() {
    const p = await pair();
    const big = Buffer.alloc(512 * 1024, 'x');
    await p.w.flushAll();
    return [
      ['set', () => p.w.set('ev', 'cached')],
      ['read 1', () => p.read('ev')], ['read 2', () => p.read('ev')],
      ['fill until evicted', async () => {
        // each fill key is read once as well: S3-FIFO keeps a key read before in its
        // main queue, which a flood of keys never read does not reach (scan resistance)
        for (let i = 0, n = 0; n < o.evictBytes; i++, n += big.length) {
          await p.w.set(`fill:${i}`, big);
          await p.w.sendCommand(['GETRANGE', `fill:${i}`, '0', '0']);
          if (i % 16 === 15 && (await until(p, () => p.heard.includes('ev'), 1))) break;
        }
        return until(p, () => p.heard.includes('ev'), 5000);
      }],
      ['server has it', () => p.w.exists('ev')],
      ['read after', () => p.read('ev')],
    ];
  },
};

main(o, scenarios, async () => {
  for (const c of opened) {
    try { c.destroy(); } catch (e) { /* closing */ }
  }
});
