// client.test.ts: the Client against a hand-driven peer: stream ids, request
// bytes, status handling, timeouts, cancellation, fd writer, size cap, close.
import * as net from 'node:net';
import t from 'tap';
import { Client } from './client';
import { decodeRequest, encodeResponse, type Response } from './codec';
import { Code, TtrpcError } from './errors';
import { MessageType, encodeFrame } from './frame';
import { Metadata } from './metadata';
import { RawPeer, connect, delay, tempSocketPath, type Teardown } from './testutil';

/** pair returns a Client connected to a RawPeer playing the server. */
async function pair(
  t: Teardown,
  opts?: ConstructorParameters<typeof Client>[1],
): Promise<{ client: Client; peer: RawPeer; socket: net.Socket }> {
  const p = tempSocketPath(t);
  let accepted!: (s: net.Socket) => void;
  const got = new Promise<net.Socket>((r) => (accepted = r));
  const srv = net.createServer((s) => accepted(s));
  await new Promise<void>((r) => srv.listen(p, r));
  t.teardown(() => new Promise((r) => srv.close(r)));
  const socket = await connect(t, p);
  const peerSocket = await got;
  t.teardown(() => peerSocket.destroy());
  return { client: new Client(socket, opts), peer: new RawPeer(peerSocket), socket };
}

function answer(peer: RawPeer, id: number, res: Response): void {
  peer.write(encodeFrame(id, MessageType.Response, 0, encodeResponse(res)));
}

t.test('stream ids are 1, 3, 5 and the request carries service, method, payload, timeout, metadata', async (t) => {
  const { client, peer } = await pair(t);
  const calls = [
    client.call('svc.A', 'One', Buffer.from('p1')),
    client.call('svc.A', 'Two', new Uint8Array([1, 2, 3]), { timeoutMs: 5000 }),
    client.call('svc.B', 'Three', Buffer.alloc(0), {
      metadata: new Metadata().append('Containerd-Namespace-TTRPC', 'default').append('x', 'a').append('X', 'b'),
    }),
  ];
  const frames = [await peer.next(), await peer.next(), await peer.next()];
  t.same(
    frames.map((f) => [f.streamId, f.type, f.flags]),
    [
      [1, 1, 0],
      [3, 1, 0],
      [5, 1, 0],
    ],
  );
  const reqs = frames.map((f) => decodeRequest(f.data));
  t.same(reqs[0], { service: 'svc.A', method: 'One', payload: Buffer.from('p1'), timeoutNano: 0, metadata: [] });
  t.equal(reqs[1].timeoutNano, 5_000_000_000);
  t.same(reqs[1].payload, Buffer.from([1, 2, 3]));
  t.same(reqs[2].metadata, [
    { key: 'containerd-namespace-ttrpc', value: 'default' },
    { key: 'x', value: 'a' },
    { key: 'x', value: 'b' },
  ]);
  // Answer out of order; each call gets its own payload.
  answer(peer, 5, { payload: Buffer.from('r5') });
  answer(peer, 1, { payload: Buffer.from('r1') });
  answer(peer, 3, { status: { code: 0, message: '' }, payload: Buffer.from('r3') });
  t.same((await Promise.all(calls)).map((b) => b.toString()), ['r1', 'r3', 'r5']);
});

t.test('a non-zero status rejects with TtrpcError carrying code and message', async (t) => {
  const { client, peer } = await pair(t);
  const p1 = client.call('s', 'm', Buffer.alloc(0));
  const p2 = client.call('s', 'm', Buffer.alloc(0));
  await peer.next();
  await peer.next();
  answer(peer, 1, { status: { code: Code.FAILED_PRECONDITION, message: 'probe: rootfs not ready' } });
  answer(peer, 3, { status: { code: 99, message: 'odd code' } });
  const e1 = await p1.catch((e: unknown) => e);
  t.ok(e1 instanceof TtrpcError);
  t.match(e1, { code: Code.FAILED_PRECONDITION, message: 'probe: rootfs not ready' });
  await t.rejects(p2, { code: 99, message: 'odd code' });
  // A Record works as metadata too, and an empty Response is an empty payload.
  const p3 = client.call('s', 'm', Buffer.alloc(0), { metadata: { A: 'b' } });
  const f = await peer.next();
  t.same(decodeRequest(f.data).metadata, [{ key: 'a', value: 'b' }]);
  peer.write(encodeFrame(5, MessageType.Response, 0, Buffer.alloc(0)));
  t.equal((await p3).length, 0);
});

t.test('when the peer closes, pending calls fail with UNAVAILABLE ttrpc: closed and close is emitted', async (t) => {
  const { client, peer } = await pair(t);
  let closes = 0;
  client.on('close', () => closes++);
  const a = client.call('s', 'Wait', Buffer.alloc(0));
  const b = client.call('s', 'Wait', Buffer.alloc(0), { timeoutMs: 10_000 });
  await peer.next();
  await peer.next();
  peer.write(encodeFrame(1, MessageType.Response, 0, Buffer.alloc(0)).subarray(0, 5)); // half a frame
  peer.socket.destroy();
  await t.rejects(a, { code: Code.UNAVAILABLE, message: 'ttrpc: closed' });
  await t.rejects(b, { code: Code.UNAVAILABLE, message: 'ttrpc: closed' });
  t.equal(closes, 1);
  t.ok(client.closed);
  await t.rejects(client.call('s', 'm', Buffer.alloc(0)), { code: Code.UNAVAILABLE, message: 'ttrpc: closed' });
});

t.test('close() fails pending calls and resolves once the socket is closed', async (t) => {
  const { client, peer, socket } = await pair(t);
  const a = client.call('s', 'Wait', Buffer.alloc(0));
  await peer.next();
  const rejected = t.rejects(a, { code: Code.UNAVAILABLE, message: 'ttrpc: closed' });
  await client.close();
  await rejected;
  t.ok(socket.destroyed);
  await peer.closed;
});

t.test('a timeout rejects locally with DEADLINE_EXCEEDED and the late answer is dropped', async (t) => {
  const { client, peer } = await pair(t);
  const slow = client.call('s', 'Slow', Buffer.alloc(0), { timeoutMs: 30 });
  const f = await peer.next();
  t.equal(decodeRequest(f.data).timeoutNano, 30_000_000);
  await t.rejects(slow, { code: Code.DEADLINE_EXCEEDED, message: 'context deadline exceeded' });
  answer(peer, 1, { payload: Buffer.from('late') });
  const next = client.call('s', 'Fast', Buffer.alloc(0), { timeoutMs: 5000 });
  t.equal((await peer.next()).streamId, 3);
  answer(peer, 3, { payload: Buffer.from('fast') });
  t.equal((await next).toString(), 'fast');
});

t.test('an abort signal cancels the call; an already aborted one sends nothing', async (t) => {
  const { client, peer } = await pair(t);
  const ac = new AbortController();
  const p = client.call('s', 'Wait', Buffer.alloc(0), { signal: ac.signal });
  await peer.next();
  ac.abort();
  await t.rejects(p, { code: Code.CANCELLED, message: 'context canceled' });
  await t.rejects(client.call('s', 'm', Buffer.alloc(0), { signal: ac.signal }), { code: Code.CANCELLED });
  const q = client.call('s', 'm', Buffer.alloc(0));
  const f = await peer.next();
  t.equal(f.streamId, 3, 'the pre-aborted call used no stream id and wrote no frame');
  answer(peer, 1, { payload: Buffer.from('late') });
  answer(peer, 3, { payload: Buffer.from('q') });
  t.equal((await q).toString(), 'q');
});

t.test('with a writer every frame goes through it, in order, with its fds', async (t) => {
  const written: [number, number[]][] = [];
  let sock!: net.Socket;
  const { client, peer, socket } = await pair(t, {
    writer: (frame, fds) => {
      written.push([frame.readUInt32BE(4), fds]);
      sock.write(frame);
    },
  });
  sock = socket;
  const a = client.call('s', 'A', Buffer.from('a'), { fds: [7, 8] });
  const b = client.call('s', 'B', Buffer.from('b'));
  t.same(written, [
    [1, [7, 8]],
    [3, []],
  ]);
  t.same([(await peer.next()).streamId, (await peer.next()).streamId], [1, 3]);
  answer(peer, 1, {});
  answer(peer, 3, {});
  await Promise.all([a, b]);
});

t.test('fds without a writer are refused', async (t) => {
  const { client, peer } = await pair(t);
  await t.rejects(client.call('s', 'A', Buffer.alloc(0), { fds: [3] }), { code: Code.INVALID_ARGUMENT });
  const p = client.call('s', 'B', Buffer.alloc(0));
  t.equal((await peer.next()).streamId, 1, 'nothing was sent for the refused call');
  answer(peer, 1, {});
  await p;
});

t.test('a writer that throws fails the call and closes the connection', async (t) => {
  const { client, peer } = await pair(t, {
    writer: () => {
      throw new Error('sendmsg: EPIPE');
    },
  });
  await t.rejects(client.call('s', 'A', Buffer.alloc(0)), {
    code: Code.UNAVAILABLE,
    message: 'ttrpc: writing request: sendmsg: EPIPE',
  });
  await peer.closed;
  t.ok(client.closed);
});

t.test('a request over the cap is refused before anything is written', async (t) => {
  const { client, peer } = await pair(t);
  // 3 (service) + 3 (method) + 1 + 4 (tag, length varint) + 4194304 (payload)
  await t.rejects(client.call('s', 'm', Buffer.alloc(4194304)), {
    code: Code.RESOURCE_EXHAUSTED,
    message: 'message length 4194315 exceed maximum message size of 4194304',
  });
  const p = client.call('s', 'm', Buffer.alloc(0));
  t.equal((await peer.next()).streamId, 1);
  answer(peer, 1, {});
  await p;
});

t.test('an oversized response fails that call only', async (t) => {
  const { client, peer } = await pair(t, { maxMessageSize: 32 });
  const big = client.call('s', 'Big', Buffer.alloc(0));
  const small = client.call('s', 'Small', Buffer.alloc(0));
  await peer.next();
  await peer.next();
  answer(peer, 1, { payload: Buffer.alloc(40) });
  answer(peer, 3, { payload: Buffer.from('ok') });
  await t.rejects(big, { code: Code.RESOURCE_EXHAUSTED, message: 'message length 42 exceed maximum message size of 32' });
  t.equal((await small).toString(), 'ok');
});

t.test('an unexpected frame type or bad Response fails that call; garbage closes the client', async (t) => {
  const { client, peer } = await pair(t);
  const a = client.call('s', 'A', Buffer.alloc(0));
  const b = client.call('s', 'B', Buffer.alloc(0));
  const c = client.call('s', 'C', Buffer.alloc(0));
  for (let i = 0; i < 3; i++) await peer.next();
  peer.write(encodeFrame(1, MessageType.Data, 0, Buffer.from('x')));
  peer.write(encodeFrame(3, MessageType.Response, 0, Buffer.from([0x0a, 0x09])));
  await t.rejects(a, { code: Code.INTERNAL, message: 'ttrpc: unknown message type 3 received' });
  await t.rejects(b, { code: Code.INTERNAL, message: /^ttrpc: unmarshal response error: / });
  peer.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
  await t.rejects(c, { code: Code.UNAVAILABLE, message: 'ttrpc: closed' });
  await peer.closed;
});

t.test('a call split across reads still resolves', async (t) => {
  const { client, peer } = await pair(t);
  const p = client.call('s', 'm', Buffer.alloc(0));
  await peer.next();
  const frame = encodeFrame(1, MessageType.Response, 0, encodeResponse({ payload: Buffer.from('slowly') }));
  for (let i = 0; i < frame.length; i++) {
    peer.write(frame.subarray(i, i + 1));
    await delay(1);
  }
  t.equal((await p).toString(), 'slowly');
});
