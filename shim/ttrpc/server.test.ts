// server.test.ts: the Server over real unix sockets: dispatch rules and exact
// status messages, framing edge cases, concurrency, deadlines, and shutdown.
import * as net from 'node:net';
import t from 'tap';
import { Client } from './client';
import { encodeRequest } from './codec';
import { Code, TtrpcError } from './errors';
import { MessageType, encodeFrame, encodeHeader } from './frame';
import type { CallContext } from './server';
import { Server } from './server';
import { RawPeer, connect, deferred, delay, startServer, tempSocketPath } from './testutil';

const SVC = 'containerd.task.v2.Task';
const echo = async (p: Buffer): Promise<Buffer> => Buffer.concat([Buffer.from('echo:'), p]);

t.test('a call reaches its handler with context, and metadata keys are lower-cased', async (t) => {
  const { server, path } = await startServer(t);
  let seen: CallContext | undefined;
  server.register(SVC, {
    State: async (p, ctx) => {
      seen = ctx;
      return echo(p);
    },
  });
  const client = new Client(await connect(t, path));
  const out = await client.call(SVC, 'State', Buffer.from('abc'), {
    metadata: { 'Containerd-Namespace-TTRPC': 'k8s.io' },
  });
  t.equal(out.toString(), 'echo:abc');
  t.ok(seen);
  t.equal(seen!.service, SVC);
  t.equal(seen!.method, 'State');
  t.equal(seen!.streamId, 1);
  t.equal(seen!.deadline, undefined);
  t.equal(seen!.signal.aborted, false);
  t.equal(seen!.metadata.get('containerd-namespace-ttrpc'), 'k8s.io');
  t.same(seen!.metadata.toKeyValues(), [{ key: 'containerd-namespace-ttrpc', value: 'k8s.io' }]);
  t.equal(server.connections, 1);
});

t.test('unknown service and unknown method are UNIMPLEMENTED with the exact messages', async (t) => {
  const { server, path } = await startServer(t);
  server.register(SVC, { State: echo });
  const peer = await RawPeer.connect(t, path);
  peer.request(1, { service: 'no.such.Service', method: 'State', payload: Buffer.alloc(0) });
  let r = await peer.response();
  t.equal(r.streamId, 1);
  t.same(r.res.status, { code: Code.UNIMPLEMENTED, message: 'service no.such.Service', details: [] });
  t.equal(r.res.payload.length, 0);
  peer.request(3, { service: SVC, method: 'Nope', payload: Buffer.alloc(0) });
  r = await peer.response();
  t.equal(r.streamId, 3);
  t.same(r.res.status, { code: Code.UNIMPLEMENTED, message: 'method Nope', details: [] });
});

t.test('an even stream id is rejected on that id, and the connection keeps working', async (t) => {
  const { server, path } = await startServer(t);
  server.register(SVC, { State: echo });
  const peer = await RawPeer.connect(t, path);
  peer.request(2, { service: SVC, method: 'State', payload: Buffer.from('x') });
  let r = await peer.response();
  t.equal(r.streamId, 2);
  t.same(r.res.status, {
    code: Code.INVALID_ARGUMENT,
    message: 'StreamID must be odd for client initiated streams',
    details: [],
  });
  peer.request(0, { service: SVC, method: 'State', payload: Buffer.from('x') });
  r = await peer.response();
  t.equal(r.streamId, 0);
  t.equal(r.res.status?.code, Code.INVALID_ARGUMENT);
  peer.request(3, { service: SVC, method: 'State', payload: Buffer.from('y') });
  r = await peer.response();
  t.equal(r.streamId, 3);
  t.equal(r.res.payload.toString(), 'echo:y');
});

t.test('an unparsable Request is INVALID_ARGUMENT', async (t) => {
  const { server, path } = await startServer(t);
  server.register(SVC, { State: echo });
  const peer = await RawPeer.connect(t, path);
  peer.write(encodeFrame(5, MessageType.Request, 0, Buffer.from([0x0a, 0x05, 0x61])));
  const r = await peer.response();
  t.equal(r.streamId, 5);
  t.equal(r.res.status?.code, Code.INVALID_ARGUMENT);
  t.match(r.res.status?.message, /^unmarshal request error: \S/);
});

t.test('an oversized request gets RESOURCE_EXHAUSTED on its stream and the connection keeps working', async (t) => {
  const { server, path } = await startServer(t);
  server.register(SVC, { State: echo });
  const peer = await RawPeer.connect(t, path);
  const len = 4194305;
  peer.write(encodeHeader({ length: len, streamId: 7, type: MessageType.Request, flags: 0 }));
  // The body arrives in pieces; the server must count it down and keep framing.
  for (let sent = 0; sent < len; sent += 65536) peer.write(Buffer.alloc(Math.min(65536, len - sent), 0x0a));
  peer.request(9, { service: SVC, method: 'State', payload: Buffer.from('after') });
  let r = await peer.response();
  t.equal(r.streamId, 7);
  t.same(r.res.status, {
    code: Code.RESOURCE_EXHAUSTED,
    message: 'message length 4194305 exceed maximum message size of 4194304',
    details: [],
  });
  r = await peer.response();
  t.equal(r.streamId, 9);
  t.equal(r.res.payload.toString(), 'echo:after');
  t.equal(server.connections, 1);
});

t.test('a request split byte by byte, and several requests merged in one write', async (t) => {
  const { server, path } = await startServer(t);
  server.register(SVC, { State: echo });
  const peer = await RawPeer.connect(t, path);
  const one = encodeFrame(1, MessageType.Request, 0, encodeRequest({ service: SVC, method: 'State', payload: Buffer.from('split') }));
  for (let i = 0; i < one.length; i++) {
    peer.write(one.subarray(i, i + 1));
    if (i % 8 === 0) await delay(1); // make separate reads likely
  }
  let r = await peer.response();
  t.equal(r.streamId, 1);
  t.equal(r.res.payload.toString(), 'echo:split');
  peer.write(
    Buffer.concat(
      [3, 5, 7].map((id) =>
        encodeFrame(id, MessageType.Request, 0, encodeRequest({ service: SVC, method: 'State', payload: Buffer.from(`m${id}`) })),
      ),
    ),
  );
  const got = new Map<number, string>();
  for (let i = 0; i < 3; i++) {
    r = await peer.response();
    got.set(r.streamId, r.res.payload.toString());
  }
  t.same([...got.entries()].sort(), [
    [3, 'echo:m3'],
    [5, 'echo:m5'],
    [7, 'echo:m7'],
  ]);
});

t.test('requests on one connection run concurrently and are answered out of order', async (t) => {
  const { server, path } = await startServer(t);
  const release = deferred();
  const order: string[] = [];
  server.register(SVC, {
    Wait: async () => {
      await release.promise;
      order.push('wait');
      return Buffer.from('waited');
    },
    State: async () => {
      order.push('state');
      return Buffer.from('state');
    },
  });
  const client = new Client(await connect(t, path));
  const wait = client.call(SVC, 'Wait', Buffer.alloc(0));
  const state = await client.call(SVC, 'State', Buffer.alloc(0));
  t.equal(state.toString(), 'state', 'fast call answered while the slow one is blocked');
  release.resolve();
  t.equal((await wait).toString(), 'waited');
  t.same(order, ['state', 'wait']);
});

t.test('a zero-length result is an empty Response: a bare 10-byte frame', async (t) => {
  const { server, path } = await startServer(t);
  server.register(SVC, { Delete: async () => Buffer.alloc(0), Kill: async () => new Uint8Array(0) });
  const peer = await RawPeer.connect(t, path);
  peer.request(1, { service: SVC, method: 'Delete', payload: Buffer.alloc(0) });
  peer.request(3, { service: SVC, method: 'Kill', payload: Buffer.alloc(0) });
  for (const id of [1, 3]) {
    const f = await peer.next();
    t.same({ length: f.length, streamId: f.streamId, type: f.type, flags: f.flags }, { length: 0, streamId: id, type: 2, flags: 0 });
    t.equal(f.data.length, 0);
  }
  const client = new Client(await connect(t, path));
  t.equal((await client.call(SVC, 'Delete', Buffer.alloc(0))).length, 0);
});

t.test('handler failures become statuses', async (t) => {
  const { server, path } = await startServer(t);
  server.register(SVC, {
    NotFound: async () => {
      throw new TtrpcError(Code.NOT_FOUND, 'container abc: not found');
    },
    Plain: async () => {
      throw new Error('mounting /proc: EPERM');
    },
    Sync: (() => {
      throw new TtrpcError(Code.FAILED_PRECONDITION, 'sync throw');
    }) as never,
    NotBytes: (async () => 'a string') as never,
    String: async () => {
      throw 'just a string';
    },
  });
  const peer = await RawPeer.connect(t, path);
  const cases: [string, number, string][] = [
    ['NotFound', Code.NOT_FOUND, 'container abc: not found'],
    ['Plain', Code.UNKNOWN, 'mounting /proc: EPERM'],
    ['Sync', Code.FAILED_PRECONDITION, 'sync throw'],
    ['NotBytes', Code.INTERNAL, `ttrpc: ${SVC}/NotBytes returned string, not bytes`],
    ['String', Code.UNKNOWN, 'just a string'],
  ];
  let id = 1;
  for (const [method, code, message] of cases) {
    peer.request(id, { service: SVC, method, payload: Buffer.alloc(0) });
    const r = await peer.response();
    t.equal(r.streamId, id);
    t.same(r.res.status, { code, message, details: [] }, method);
    t.equal(r.res.payload.length, 0, `${method}: no payload with an error`);
    id += 2;
  }
});

t.test('a response over the cap is replaced by RESOURCE_EXHAUSTED', async (t) => {
  const { server, path } = await startServer(t, { maxMessageSize: 64 });
  server.register(SVC, { Big: async () => Buffer.alloc(100, 1), Small: async () => Buffer.alloc(61, 1) });
  const client = new Client(await connect(t, path), { maxMessageSize: 64 });
  await t.rejects(client.call(SVC, 'Big', Buffer.alloc(0)), {
    code: Code.RESOURCE_EXHAUSTED,
    message: 'message length 102 exceed maximum message size of 64',
  });
  t.equal((await client.call(SVC, 'Small', Buffer.alloc(0))).length, 61, '2 + 61 bytes fits under 64');
});

t.test('Data frames, unknown types are ignored; flags on a Request are ignored', async (t) => {
  const errors: string[] = [];
  const { server, path } = await startServer(t, { onError: (e) => errors.push(e.message) });
  server.register(SVC, { State: echo });
  const peer = await RawPeer.connect(t, path);
  peer.write(encodeFrame(1, MessageType.Data, 0x01, Buffer.from('data')));
  peer.write(encodeFrame(3, 0x7f, 0, Buffer.from('???')));
  peer.write(encodeFrame(5, MessageType.Response, 0, Buffer.alloc(0)));
  peer.write(encodeFrame(7, MessageType.Request, 0x02, encodeRequest({ service: SVC, method: 'State', payload: Buffer.from('f') })));
  const r = await peer.response();
  t.equal(r.streamId, 7, 'the first answer is for the request');
  t.equal(r.res.payload.toString(), 'echo:f');
  t.same(errors, [
    'ttrpc: ignoring frame of type 3 on stream 1',
    'ttrpc: ignoring frame of type 127 on stream 3',
    'ttrpc: ignoring frame of type 2 on stream 5',
    'ttrpc: ignoring flags 0x2 on request stream 7',
  ]);
  t.equal(server.connections, 1);
});

t.test('a stream id already in flight is rejected without disturbing the first call', async (t) => {
  const { server, path } = await startServer(t);
  const release = deferred();
  server.register(SVC, {
    Wait: async () => {
      await release.promise;
      return Buffer.from('done');
    },
  });
  const peer = await RawPeer.connect(t, path);
  peer.request(1, { service: SVC, method: 'Wait', payload: Buffer.alloc(0) });
  peer.request(1, { service: SVC, method: 'Wait', payload: Buffer.alloc(0) });
  let r = await peer.response();
  t.equal(r.res.status?.code, Code.INVALID_ARGUMENT);
  release.resolve();
  r = await peer.response();
  t.equal(r.res.payload.toString(), 'done');
});

t.test('a peer closing mid-frame: partial frame dropped, its calls aborted, other connections unaffected', async (t) => {
  const closed = deferred<net.Socket>();
  const errors: string[] = [];
  const { server, path } = await startServer(t, {
    onConnectionClose: (s) => closed.resolve(s),
    onError: (e) => errors.push(e.message),
  });
  const started = deferred<AbortSignal>();
  server.register(SVC, {
    Wait: (_p, ctx) => {
      started.resolve(ctx.signal);
      return new Promise((_res, rej) => ctx.signal.addEventListener('abort', () => rej(ctx.signal.reason)));
    },
    State: echo,
  });
  const other = new Client(await connect(t, path));
  const peer = await RawPeer.connect(t, path);
  peer.request(1, { service: SVC, method: 'Wait', payload: Buffer.alloc(0) });
  const signal = await started.promise;
  t.equal(server.connections, 2);
  const frame = encodeFrame(3, MessageType.Request, 0, encodeRequest({ service: SVC, method: 'State', payload: Buffer.from('zz') }));
  peer.write(frame.subarray(0, 14));
  await delay(20);
  peer.socket.end();
  await closed.promise;
  t.equal(signal.aborted, true, 'in-flight handler aborted');
  t.match(signal.reason, { code: Code.CANCELLED });
  t.equal(server.connections, 1);
  t.ok(errors.includes('ttrpc: peer closed the connection mid-frame'));
  t.equal((await other.call(SVC, 'State', Buffer.from('ok'))).toString(), 'echo:ok');
});

t.test('garbage closes that connection only', async (t) => {
  const errors: string[] = [];
  const { server, path } = await startServer(t, { onError: (e) => errors.push(e.message) });
  server.register(SVC, { State: echo });
  const good = new Client(await connect(t, path));
  t.equal((await good.call(SVC, 'State', Buffer.from('1'))).toString(), 'echo:1');
  const bad = await RawPeer.connect(t, path);
  bad.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await bad.closed;
  t.equal(bad.frames.length, 0, 'no answer to garbage');
  t.match(errors[0], /invalid frame header/);
  t.equal((await good.call(SVC, 'State', Buffer.from('2'))).toString(), 'echo:2');
  const late = new Client(await connect(t, path));
  t.equal((await late.call(SVC, 'State', Buffer.from('3'))).toString(), 'echo:3');
});

t.test('a deadline: ctx.deadline is set, ctx.signal aborts, client gets DEADLINE_EXCEEDED', async (t) => {
  const { server, path } = await startServer(t);
  const aborted = deferred<unknown>();
  let deadline: number | undefined;
  server.register(SVC, {
    Wait: (_p, ctx) => {
      deadline = ctx.deadline;
      return new Promise((_res, rej) =>
        ctx.signal.addEventListener('abort', () => {
          aborted.resolve(ctx.signal.reason);
          rej(ctx.signal.reason);
        }),
      );
    },
    State: echo,
  });
  const client = new Client(await connect(t, path));
  const before = Date.now();
  await t.rejects(client.call(SVC, 'Wait', Buffer.alloc(0), { timeoutMs: 60 }), {
    code: Code.DEADLINE_EXCEEDED,
    message: 'context deadline exceeded',
  });
  t.ok(deadline !== undefined && deadline >= before + 50 && deadline <= Date.now() + 70, `deadline ${deadline}`);
  t.match(await aborted.promise, { code: Code.DEADLINE_EXCEEDED });
  t.equal((await client.call(SVC, 'State', Buffer.from('next'))).toString(), 'echo:next', 'late answer dropped');
});

t.test('onConnection can refuse a connection', async (t) => {
  let n = 0;
  const { server, path } = await startServer(t, { onConnection: () => ++n !== 1 });
  server.register(SVC, { State: echo });
  const refused = await RawPeer.connect(t, path);
  await refused.closed;
  const client = new Client(await connect(t, path));
  t.equal((await client.call(SVC, 'State', Buffer.from('a'))).toString(), 'echo:a');
  t.equal(server.connections, 1);
});

t.test('addConnection serves a socket accepted elsewhere', async (t) => {
  const server = new Server();
  server.register(SVC, { State: echo });
  const p = tempSocketPath(t);
  const plain = net.createServer((s) => server.addConnection(s));
  await new Promise<void>((r) => plain.listen(p, r));
  t.teardown(() => new Promise((r) => plain.close(r)));
  t.teardown(() => server.close());
  const client = new Client(await connect(t, p));
  const clientClosed = new Promise<void>((r) => client.on('close', r));
  t.equal((await client.call(SVC, 'State', Buffer.from('pair'))).toString(), 'echo:pair');
  t.equal(server.connections, 1);
  await server.close();
  t.equal(server.connections, 0);
  await clientClosed;
  t.ok(client.closed);
});

t.test('close: stops accepting, aborts calls, closes connections, resolves', async (t) => {
  const { server, path } = await startServer(t);
  let c2Closed = 0;
  const started = deferred<AbortSignal>();
  server.register(SVC, {
    Wait: (_p, ctx) => {
      started.resolve(ctx.signal);
      return new Promise(() => {}); // never settles on its own
    },
  });
  const c1 = new Client(await connect(t, path));
  const c2 = new Client(await connect(t, path));
  c2.on('close', () => c2Closed++);
  const pending = c1.call(SVC, 'Wait', Buffer.alloc(0));
  const signal = await started.promise;
  t.equal(server.connections, 2);
  await server.close();
  t.equal(server.connections, 0);
  t.ok(signal.aborted);
  await t.rejects(pending, { code: Code.UNAVAILABLE, message: 'ttrpc: closed' });
  await c2.close();
  t.equal(c2Closed, 1, "'close' emitted once");
  await t.rejects(
    new Promise((resolve, reject) => {
      const s = net.createConnection(path);
      s.on('connect', () => resolve(s.destroy()));
      s.on('error', reject);
    }),
    'no longer accepting',
  );
  t.equal(await server.close(), undefined, 'close is idempotent');
  t.throws(() => server.register(SVC, { State: echo }), /already registered/);
});
