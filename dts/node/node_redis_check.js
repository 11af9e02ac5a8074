// node_redis_check.js - node-redis 4 (RESP2) through its API against one server; the
// scenarios named on the command line (see common.js), each a list of steps whose
// values or errors are printed as JSON for dts/test_redis_node.py to compare with
// the same script's run against redis-server.
'use strict';
const { createClient, createCluster, commandOptions } = require('redis');
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

const scenarios = {
  async strings() {
    const c = await client();
    await c.flushAll();
    return [
      ['set', () => c.set('k', 'v')], ['get', () => c.get('k')], ['get missing', () => c.get('nope')],
      ['set nx', () => c.set('k', 'w', { NX: true })],
      ['set xx get', () => c.set('k', 'w', { XX: true, GET: true })],
      ['set ex', () => c.set('e', 'v', { EX: 100 })], ['ttl', () => c.ttl('e')],
      ['setex', () => c.setEx('sx', 100, 'v')], ['setnx', () => c.setNX('nx', '1')],
      ['mset', () => c.mSet({ a: '1', b: 'two' })], ['mget', () => c.mGet(['a', 'nope', 'b'])],
      ['msetnx', () => c.mSetNX(['{t}a', '1', '{t}z', '2'])], ['getset', () => c.getSet('a', '5')],
      ['getdel', () => c.getDel('a')], ['getex', () => c.getEx('b', { EX: 100 })],
      ['getex persist', () => c.getEx('b', { PERSIST: true })],
      ['append', () => c.append('s', 'hello')], ['strlen', () => c.strLen('s')],
      ['getrange', () => c.getRange('s', 1, 3)], ['setrange', () => c.setRange('s', 1, 'EL')],
      ['incr', () => c.incr('n')], ['incrby', () => c.incrBy('n', 10)], ['decr', () => c.decr('n')],
      ['decrby', () => c.decrBy('n', 100)], ['incrbyfloat', () => c.incrByFloat('f', 1.5)],
      ['incr wrong', () => c.incr('s')], ['incrbyfloat wrong', () => c.incrByFloat('s', 1)],
      ['buffer', async () => {
        await c.set('bin', Buffer.from([0, 1, 2, 255, 13, 10]));
        return c.get(commandOptions({ returnBuffers: true }), 'bin');
      }],
      ['large', async () => {
        const v = Buffer.alloc(1 << 20, 'y');
        v[777] = 0;
        await c.set('large', v);
        const g = await c.get(commandOptions({ returnBuffers: true }), 'large');
        return [g.length, g.equals(v)];
      }],
      ['arity', () => c.sendCommand(['GET'])], ['unknown', () => c.sendCommand(['NOSUCH', 'x'])],
    ];
  },

  async keys() {
    const c = await client();
    await c.flushAll();
    return [
      ['mset', () => c.mSet(['{k}k1', 'a', '{k}k2', 'b', '{k}k3', 'c', '{k}other', 'd'])],
      ['del', () => c.del(['{k}k1', '{k}nope', '{k}k2'])], ['exists', () => c.exists(['{k}k3', '{k}k3', '{k}nope'])],
      ['type', () => c.type('{k}k3')], ['touch', () => c.touch(['{k}k3', '{k}nope'])],
      ['rename', () => c.rename('{k}k3', '{k}k4')], ['rename missing', () => c.rename('{k}nope', '{k}x')],
      ['renamenx', () => c.renameNX('{k}k4', '{k}other')], ['copy', () => c.copy('{k}k4', '{k}k5')],
      ['copy replace', () => c.copy('{k}k4', '{k}k5', { replace: true })],
      ['expire', () => c.expire('{k}k4', 100)], ['ttl', () => c.ttl('{k}k4')],
      ['persist', () => c.persist('{k}k4')], ['ttl none', () => c.ttl('{k}k4')],
      ['pexpire', () => c.pExpire('{k}k5', 100000)],
      ['pttl range', async () => { const t = await c.pTTL('{k}k5'); return t > 99000 && t <= 100000; }],
      ['expiretime', () => c.expireTime('{k}k4')],
      ['scan', async () => {
        await c.mSet([...Array(300).keys()].flatMap((i) => [`scan:${i}`, `${i}`]));
        const seen = [];
        for await (const k of c.scanIterator({ MATCH: 'scan:*', COUNT: 13 })) seen.push(k);
        return [seen.length, new Set(seen).size];
      }],
      ['keys', async () => (await c.keys('{k}k*')).sort()], ['dbsize', () => c.dbSize()],
      ['randomkey', async () => typeof (await c.randomKey())],
    ];
  },

  async transactions() {
    const c = await client();
    const other = await client();
    await c.flushAll();
    return [
      ['multi', () => c.multi().set('x', '1').incr('x').get('x').exec()],
      ['runtime error inside', () => c.multi().set('{t}s', 'str').incr('{t}s').set('{t}t', '1').exec()],
      ['queue error', () => c.multi().set('a', '1').addCommand(['SET', 'a']).exec()],
      ['after abort', () => c.get('a')],
      ['watch changed', () => c.executeIsolated(async (iso) => {
        await iso.watch('w');
        await other.set('w', '100');
        return iso.multi().incr('w').exec();
      })],
      ['watch untouched', () => c.executeIsolated(async (iso) => {
        await iso.watch('w2');
        return iso.multi().set('w2', '1').exec();
      })],
      ['pipeline', () => c.multi().set('p', '1').incr('p').get('p').execAsPipeline()],
      ['auto pipeline', async () => {
        const r = await Promise.all([...Array(5000).keys()].map((i) => c.incr(`bp:${i % 100}`)));
        return [r.length, await c.get('bp:99')];
      }],
    ];
  },

  async connection() {
    const c = await client({ name: 'node-redis-conn' });
    return [
      ['ping', () => c.ping()], ['echo', () => c.echo('e')], ['getname', () => c.clientGetName()],
      ['id', async () => typeof (await c.clientId())],
      ['hello 2', async () => {
        const r = await c.sendCommand(['HELLO', '2']);
        const m = {};
        for (let i = 0; i < r.length; i += 2) m[r[i]] = r[i + 1];
        delete m.id;
        return m;
      }],
      ['hello 4', () => c.sendCommand(['HELLO', '4'])],
      ['time', async () => (await c.time()) instanceof Date],
      ['select 0', () => c.select(0)],
    ];
  },

  async hash() {
    const c = await client();
    await c.flushAll();
    return [
      ['hset', () => c.hSet('h', { f1: 'v1', f2: '2', f3: 'x' })], ['hget', () => c.hGet('h', 'f1')],
      ['hgetall', () => c.hGetAll('h')], ['hgetall missing', () => c.hGetAll('nope')],
      ['hmget', () => c.hmGet('h', ['f1', 'nope'])], ['hlen', () => c.hLen('h')],
      ['hincrby', () => c.hIncrBy('h', 'f2', 5)], ['hincrbyfloat', () => c.hIncrByFloat('h', 'f2', 0.5)],
      ['hdel', () => c.hDel('h', ['f3', 'nope'])], ['hexists', () => c.hExists('h', 'f1')],
      ['hkeys', async () => (await c.hKeys('h')).sort()], ['wrongtype', () => c.get('h')],
      ['hscan', async () => {
        const seen = [];
        for await (const { field } of c.hScanIterator('h')) seen.push(field);
        return seen.sort();
      }],
    ];
  },

  async set() {
    const c = await client();
    await c.flushAll();
    return [
      ['sadd', () => c.sAdd('{s}s', ['a', 'b', 'c'])], ['smembers', async () => (await c.sMembers('{s}s')).sort()],
      ['sismember', () => c.sIsMember('{s}s', 'a')], ['smismember', () => c.smIsMember('{s}s', ['a', 'z'])],
      ['scard', () => c.sCard('{s}s')], ['srem', () => c.sRem('{s}s', 'c')],
      ['sinter', async () => { await c.sAdd('{s}t', ['b', 'x']); return (await c.sInter(['{s}s', '{s}t'])).sort(); }],
      ['sunion', async () => (await c.sUnion(['{s}s', '{s}t'])).sort()],
      ['spop', async () => typeof (await c.sPop('{s}t'))], ['wrongtype', () => c.get('{s}s')],
      ['sscan', async () => {
        const seen = [];
        for await (const m of c.sScanIterator('{s}s')) seen.push(m);
        return seen.sort();
      }],
    ];
  },

  async info() {
    const c = await client();
    return [
      ['version', async () => /redis_version:7\.0\.15/.test(await c.info('server'))],
      ['config', async () => Object.keys(await c.configGet('maxmemory'))],
    ];
  },

  async auth() {
    return [
      ['no password', async () => { const c = await client({ password: undefined }); return c.get('k'); }],
      ['wrong password', async () => client({ password: 'nope' }).then(() => 'connected')],
      ['right password', async () => { const c = await client(); return [await c.set('k', 'v'), await c.get('k')]; }],
      ['as default', async () => { const c = await client({ username: 'default' }); return c.get('k'); }],
    ];
  },

  async cluster() {
    const cl = createCluster({
      rootNodes: [{ socket: { host: o.host, port: o.port, connectTimeout: 5000 } }],
      defaults: { password: o.password || undefined, socket: { reconnectStrategy: false } },
    });
    cl.on('error', () => {});
    await cl.connect();
    opened.push(cl);
    return [
      ['set many', async () => {
        for (let i = 0; i < 100; i++) await cl.set(`ck${i}`, `${i}`);
        return (await Promise.all([...Array(100).keys()].map((i) => cl.get(`ck${i}`)))).join(',')
          === [...Array(100).keys()].join(',');
      }],
      ['crossslot', () => cl.mGet(['a', 'b'])], ['hash tag', () => cl.mSet(['{u}a', '1', '{u}b', '2'])],
    ];
  },
};

main(o, scenarios, async () => {
  for (const c of opened) {
    try { await c.disconnect(); } catch (e) { /* closed already */ }
  }
});
