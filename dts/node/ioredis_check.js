// ioredis_check.js - ioredis 5 (RESP2) through its API against one server; the
// scenarios named on the command line (see common.js), each a list of steps whose
// values or errors are printed as JSON for dts/test_redis_node.py to compare with
// the same script's run against redis-server.
'use strict';
const Redis = require('ioredis');
const { options, main } = require('./common');

const o = options();
const base = {
  host: o.host, port: o.port, password: o.password || undefined,
  lazyConnect: true, connectTimeout: 5000, commandTimeout: 10000,
  maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false,
  // the ready check sends INFO: only where the server has it
  enableReadyCheck: o.features.has('info'),
};
const opened = [];
async function client(extra) {
  const c = new Redis({ ...base, ...extra });
  c.on('error', () => {});
  opened.push(c);
  await c.connect();
  return c;
}

async function scan(c, match) {
  const keys = [];
  await new Promise((resolve, reject) => {
    c.scanStream({ match, count: 7 }).on('data', (k) => keys.push(...k))
      .on('end', resolve).on('error', reject);
  });
  return keys.sort();
}

const scenarios = {
  async strings() {
    const c = await client();
    await c.flushall();
    return [
      ['set', () => c.set('k', 'v')], ['get', () => c.get('k')], ['get missing', () => c.get('nope')],
      ['set nx', () => c.set('k', 'w', 'NX')], ['set xx get', () => c.set('k', 'w', 'XX', 'GET')],
      ['set ex', () => c.set('e', 'v', 'EX', 100)], ['ttl', () => c.ttl('e')],
      ['setex', () => c.setex('sx', 100, 'v')], ['psetex', () => c.psetex('px', 100000, 'v')],
      ['setnx', () => c.setnx('nx', 1)], ['mset', () => c.mset({ a: 1, b: 'two' })],
      ['mget', () => c.mget('a', 'nope', 'b')], ['msetnx', () => c.msetnx('{t}a', 1, '{t}z', 2)],
      ['getset', () => c.getset('a', 5)], ['getdel', () => c.getdel('a')],
      ['getex', () => c.getex('b', 'EX', 100)], ['getex persist', () => c.getex('b', 'PERSIST')],
      ['append', () => c.append('s', 'hello')], ['strlen', () => c.strlen('s')],
      ['getrange', () => c.getrange('s', 1, 3)], ['setrange', () => c.setrange('s', 1, 'EL')],
      ['get s', () => c.get('s')], ['incr', () => c.incr('n')], ['incrby', () => c.incrby('n', 10)],
      ['decr', () => c.decr('n')], ['decrby', () => c.decrby('n', 100)],
      ['incrbyfloat', () => c.incrbyfloat('f', '1.5')], ['incrbyfloat exp', () => c.incrbyfloat('f', '1e3')],
      ['incr wrong', () => c.incr('s')], ['incrbyfloat wrong', () => c.incrbyfloat('s', 1)],
      ['overflow', () => c.set('big', '9223372036854775807').then(() => c.incr('big'))],
      ['buffer', () => c.set('bin', Buffer.from([0, 1, 2, 255, 13, 10])).then(() => c.getBuffer('bin'))],
      ['large', async () => {
        const v = Buffer.alloc(1 << 20, 'x');
        v[12345] = 0;
        await c.set('large', v);
        const g = await c.getBuffer('large');
        return [g.length, g.equals(v)];
      }],
      ['arity', () => c.call('GET')], ['unknown', () => c.call('NOSUCH', 'x')],
      ['syntax', () => c.set('k', 'v', 'BOGUS')],
    ];
  },

  async keys() {
    const c = await client();
    await c.flushall();
    return [
      ['mset', () => c.mset('{k}k1', 'a', '{k}k2', 'b', '{k}k3', 'c', '{k}other', 'd')],
      ['del', () => c.del('{k}k1', '{k}nope', '{k}k2')], ['unlink', () => c.unlink('{k}nope')],
      ['exists', () => c.exists('{k}k3', '{k}k3', '{k}nope')], ['type', () => c.type('{k}k3')],
      ['type none', () => c.type('{k}nope')], ['touch', () => c.touch('{k}k3', '{k}nope')],
      ['rename', () => c.rename('{k}k3', '{k}k4')], ['rename missing', () => c.rename('{k}nope', '{k}x')],
      ['renamenx', () => c.renamenx('{k}k4', '{k}other')], ['copy', () => c.copy('{k}k4', '{k}k5')],
      ['copy again', () => c.copy('{k}k4', '{k}k5')], ['copy replace', () => c.copy('{k}k4', '{k}k5', 'REPLACE')],
      ['expire', () => c.expire('{k}k4', 100)], ['ttl', () => c.ttl('{k}k4')],
      ['pttl range', async () => { const t = await c.pttl('{k}k4'); return t > 99000 && t <= 100000; }],
      ['expire gt', () => c.expire('{k}k4', 50, 'GT')], ['persist', () => c.persist('{k}k4')],
      ['ttl none', () => c.ttl('{k}k4')], ['ttl missing', () => c.ttl('{k}nope')],
      ['pexpireat', () => c.pexpireat('{k}k5', 4102444800123)], ['pexpiretime', () => c.pexpiretime('{k}k5')],
      ['expireat past', () => c.expireat('{k}k5', 1000)], ['exists gone', () => c.exists('{k}k5')],
      ['many', async () => {
        const p = c.pipeline();
        for (let i = 0; i < 500; i++) p.set(`scan:${i}`, i);
        await p.exec();
        return (await scan(c, 'scan:*')).length;
      }],
      ['keys', async () => (await c.keys('{k}k*')).sort()], ['dbsize', () => c.dbsize()],
      ['flushdb', () => c.flushdb()], ['dbsize 0', () => c.dbsize()],
    ];
  },

  async transactions() {
    const c = await client();
    const other = await client();
    await c.flushall();
    return [
      ['multi', () => c.multi().set('x', 1).incr('x').get('x').exec()],
      ['runtime error inside', () => c.multi().set('{t}s', 'str').incr('{t}s').set('{t}t', 1).exec()],
      ['queue error', () => c.multi().set('a', 1).call('SET', 'a').exec()],
      ['after abort', () => c.get('a')],
      ['watch changed', async () => {
        await c.watch('w');
        await other.set('w', 100);
        return c.multi().incr('w').exec();
      }],
      ['watch untouched', async () => {
        await c.watch('w2');
        return c.multi().set('w2', 1).exec();
      }],
      ['pipeline', () => c.pipeline().set('p', 1).incr('p').incr('s').get('p').exec()],
      ['big pipeline', async () => {
        const p = c.pipeline();
        for (let i = 0; i < 5000; i++) p.incr(`bp:${i % 100}`);
        const r = await p.exec();
        return [r.length, r.every(([e]) => e === null), r[4999][1],
          await c.get('bp:99')];
      }],
      ['exec without multi', () => c.call('EXEC')],
    ];
  },

  async connection() {
    const c = await client({ connectionName: 'ioredis-conn' });
    return [
      ['ping', () => c.ping()], ['ping msg', () => c.ping('hi')], ['echo', () => c.echo('e')],
      ['getname', () => c.client('GETNAME')], ['setname', () => c.client('SETNAME', 'n2')],
      ['id', async () => typeof (await c.client('ID'))],
      ['hello 2', async () => {
        const r = await c.call('HELLO', '2');
        const m = {};
        for (let i = 0; i < r.length; i += 2) m[r[i]] = r[i + 1];
        delete m.id;
        return m;
      }],
      ['hello 4', () => c.call('HELLO', '4')],
      ['time', async () => (await c.time()).length], ['select 0', () => c.select(0)],
      ['auth unset', () => c.call('AUTH', 'x')],
    ];
  },

  async hash() {
    const c = await client();
    await c.flushall();
    return [
      ['hset', () => c.hset('h', { f1: 'v1', f2: 2, f3: 'x' })], ['hget', () => c.hget('h', 'f1')],
      ['hgetall', () => c.hgetall('h')], ['hgetall missing', () => c.hgetall('nope')],
      ['hmget', () => c.hmget('h', 'f1', 'nope')], ['hlen', () => c.hlen('h')],
      ['hincrby', () => c.hincrby('h', 'f2', 5)], ['hincrbyfloat', () => c.hincrbyfloat('h', 'f2', 0.5)],
      ['hincrby wrong', () => c.hincrby('h', 'f3', 1)], ['hdel', () => c.hdel('h', 'f3', 'nope')],
      ['hkeys', async () => (await c.hkeys('h')).sort()], ['hexists', () => c.hexists('h', 'f1')],
      ['hsetnx', () => c.hsetnx('h', 'f1', 'no')], ['hstrlen', () => c.hstrlen('h', 'f1')],
      ['wrongtype', () => c.get('h')], ['type', () => c.type('h')],
    ];
  },

  async set() {
    const c = await client();
    await c.flushall();
    return [
      ['sadd', () => c.sadd('{s}s', 'a', 'b', 'c')], ['sadd again', () => c.sadd('{s}s', 'a', 'd')],
      ['smembers', async () => (await c.smembers('{s}s')).sort()], ['scard', () => c.scard('{s}s')],
      ['sismember', () => c.sismember('{s}s', 'a')], ['smismember', () => c.smismember('{s}s', 'a', 'z')],
      ['srem', () => c.srem('{s}s', 'd')], ['sadd t', () => c.sadd('{s}t', 'b', 'x')],
      ['sinter', async () => (await c.sinter('{s}s', '{s}t')).sort()],
      ['sunion', async () => (await c.sunion('{s}s', '{s}t')).sort()],
      ['sdiff', async () => (await c.sdiff('{s}s', '{s}t')).sort()],
      ['sunionstore', () => c.sunionstore('{s}u', '{s}s', '{s}t')], ['smove', () => c.smove('{s}s', '{s}t', 'a')],
      ['wrongtype', () => c.sadd('nonset', 'x').then(() => c.set('str', 1)).then(() => c.sadd('str', 1))],
      ['type', () => c.type('{s}s')],
    ];
  },

  async info() {
    const c = await client();
    return [
      ['version', async () => /redis_version:7\.0\.15/.test(await c.info('server'))],
      ['config', async () => (await c.config('GET', 'maxmemory'))[0]],
    ];
  },

  async auth() {
    const steps = [
      // (the ready check's INFO would fail first and close the connection, as with Redis)
      ['no password', async () => {
        const c = await client({ password: undefined, enableReadyCheck: false }); return c.get('k');
      }],
      ['wrong password', async () => client({ password: 'nope' }).then(() => 'connected')],
      ['right password', async () => { const c = await client(); return [await c.set('k', 'v'), await c.get('k')]; }],
      ['as default', async () => { const c = await client({ username: 'default' }); return c.get('k'); }],
    ];
    return steps;
  },

  async cluster() {
    const cl = new Redis.Cluster([{ host: o.host, port: o.port }], {
      redisOptions: { password: o.password || undefined, connectTimeout: 5000 },
      enableReadyCheck: o.features.has('info'), clusterRetryStrategy: () => null,
      natMap: o.natMap,
    });
    cl.on('error', () => {});
    opened.push(cl);
    return [
      ['set many', async () => {
        for (let i = 0; i < 100; i++) await cl.set(`ck${i}`, i);
        return (await Promise.all([...Array(100).keys()].map((i) => cl.get(`ck${i}`)))).join(',')
          === [...Array(100).keys()].join(',');
      }],
      ['crossslot', () => cl.mget('a', 'b')], ['hash tag', () => cl.mset('{u}a', 1, '{u}b', 2)],
      ['slots', async () => (await cl.cluster('SLOTS')).map((s) => [s[0], s[1]])],
    ];
  },
};

main(o, scenarios, async () => {
  for (const c of opened) c.disconnect();
});
