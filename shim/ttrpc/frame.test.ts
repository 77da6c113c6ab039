// frame.test.ts: header layout and FrameReader behaviour on split, merged,
// empty, oversized and garbage input.
import t from 'tap';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  FrameReader,
  MessageType,
  decodeHeader,
  encodeFrame,
  encodeHeader,
  type Frame,
  type FrameHeader,
} from './frame';

function collect(reader: FrameReader): { frames: Frame[]; oversized: FrameHeader[]; garbage: string[] } {
  const out = { frames: [] as Frame[], oversized: [] as FrameHeader[], garbage: [] as string[] };
  reader.on('frame', (f) => out.frames.push(f));
  reader.on('oversized', (h) => out.oversized.push(h));
  reader.on('garbage', (r) => out.garbage.push(r));
  return out;
}

t.test('header is length BE, stream id BE, type, flags', async (t) => {
  const h = encodeHeader({ length: 0x010203, streamId: 0x0a0b0c0d, type: 2, flags: 0x05 });
  t.equal(h.toString('hex'), '00010203' + '0a0b0c0d' + '02' + '05');
  t.same(decodeHeader(h), { length: 0x010203, streamId: 0x0a0b0c0d, type: 2, flags: 5 });
  t.throws(() => decodeHeader(h.subarray(0, 9)), RangeError);
  const f = encodeFrame(7, MessageType.Request, 0, Buffer.from('abc'));
  t.equal(f.toString('hex'), '00000003' + '00000007' + '01' + '00' + '616263');
  t.equal(DEFAULT_MAX_MESSAGE_SIZE, 4194304);
});

t.test('a frame split byte by byte', async (t) => {
  const r = new FrameReader();
  const out = collect(r);
  const bytes = Buffer.concat([
    encodeFrame(1, MessageType.Request, 0, Buffer.from('hello world')),
    encodeFrame(3, MessageType.Request, 0, Buffer.from('second')),
  ]);
  for (let i = 0; i < bytes.length; i++) {
    r.push(bytes.subarray(i, i + 1));
    if (i === 5) t.ok(r.midFrame, 'mid-frame inside a header');
  }
  t.equal(out.frames.length, 2);
  t.equal(out.frames[0].streamId, 1);
  t.equal(out.frames[0].type, MessageType.Request);
  t.equal(out.frames[0].data.toString(), 'hello world');
  t.equal(out.frames[1].streamId, 3);
  t.equal(out.frames[1].data.toString(), 'second');
  t.notOk(r.midFrame);
  t.equal(r.bufferedBytes, 0);
});

t.test('several frames merged in one chunk, plus one split across chunks', async (t) => {
  const r = new FrameReader();
  const out = collect(r);
  const all = Buffer.concat([
    encodeFrame(1, 1, 0, Buffer.from('a')),
    encodeFrame(3, 1, 0, Buffer.alloc(0)),
    encodeFrame(5, 2, 0, Buffer.from('ccc')),
    encodeFrame(7, 3, 1, Buffer.from('dddd')),
  ]);
  const cut = all.length - 6; // inside the last frame's header
  r.push(all.subarray(0, cut));
  t.equal(out.frames.length, 3);
  t.ok(r.midFrame);
  r.push(all.subarray(cut));
  t.same(
    out.frames.map((f) => [f.streamId, f.type, f.flags, f.data.toString()]),
    [
      [1, 1, 0, 'a'],
      [3, 1, 0, ''],
      [5, 2, 0, 'ccc'],
      [7, 3, 1, 'dddd'],
    ],
  );
});

t.test('frame data is a copy, not a view of the pushed chunk', async (t) => {
  const r = new FrameReader();
  const out = collect(r);
  const chunk = encodeFrame(1, 1, 0, Buffer.from('xyz'));
  r.push(chunk);
  chunk.fill(0);
  t.equal(out.frames[0].data.toString(), 'xyz');
});

t.test('an oversized frame is skipped without buffering and reported after its last byte', async (t) => {
  const r = new FrameReader({ maxMessageSize: 16 });
  const out = collect(r);
  const big = encodeFrame(9, MessageType.Request, 0, Buffer.alloc(17, 0x61));
  const next = encodeFrame(11, MessageType.Request, 0, Buffer.from('ok'));
  const bytes = Buffer.concat([big, next]);
  for (let i = 0; i < big.length; i++) {
    r.push(bytes.subarray(i, i + 1));
    t.ok(r.bufferedBytes <= 10, 'never holds more than a header');
    if (i < big.length - 1) t.equal(out.oversized.length, 0);
  }
  t.same(out.oversized, [{ length: 17, streamId: 9, type: 1, flags: 0 }]);
  t.equal(out.frames.length, 0);
  r.push(bytes.subarray(big.length));
  t.equal(out.frames.length, 1);
  t.equal(out.frames[0].streamId, 11);
  t.equal(out.frames[0].data.toString(), 'ok');
});

t.test('a 4 MiB frame passes and 4 MiB + 1 is oversized at the default cap', async (t) => {
  const r = new FrameReader();
  const out = collect(r);
  r.push(encodeFrame(1, 1, 0, Buffer.alloc(4194304)));
  r.push(encodeFrame(3, 1, 0, Buffer.alloc(4194305)));
  t.equal(out.frames.length, 1);
  t.equal(out.frames[0].data.length, 4194304);
  t.same(out.oversized, [{ length: 4194305, streamId: 3, type: 1, flags: 0 }]);
});

t.test('garbage (reserved length byte set) stops the reader', async (t) => {
  const r = new FrameReader();
  const out = collect(r);
  r.push(encodeFrame(1, 1, 0, Buffer.from('a')));
  r.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  t.equal(out.frames.length, 1);
  t.equal(out.garbage.length, 1);
  t.match(out.garbage[0], /invalid frame header 474554202f2048545450/);
  r.push(encodeFrame(3, 1, 0, Buffer.from('b')));
  t.equal(out.frames.length, 1, 'nothing more after garbage');
  t.equal(r.bufferedBytes, 0);
});

t.test('a length of 16 MiB or more is garbage even with a bigger cap', async (t) => {
  const r = new FrameReader({ maxMessageSize: 0xffffff });
  const out = collect(r);
  r.push(encodeHeader({ length: 0x1000000, streamId: 1, type: 1, flags: 0 }));
  t.equal(out.garbage.length, 1);
  t.equal(out.oversized.length, 0);
});

t.test('stop drops a partial frame', async (t) => {
  const r = new FrameReader();
  const out = collect(r);
  const f = encodeFrame(1, 1, 0, Buffer.from('abcdef'));
  r.push(f.subarray(0, 13));
  t.ok(r.midFrame);
  r.stop();
  t.notOk(r.midFrame);
  r.push(f.subarray(13));
  t.equal(out.frames.length, 0);
});

t.test('maxMessageSize must fit the header', async (t) => {
  t.throws(() => new FrameReader({ maxMessageSize: 0x1000000 }), RangeError);
  t.throws(() => new FrameReader({ maxMessageSize: -1 }), RangeError);
  t.throws(() => new FrameReader({ maxMessageSize: 1.5 }), RangeError);
  t.throws(() => encodeFrame(1, 1, 0, Buffer.alloc(0x1000000)), RangeError);
});
