// codec.test.ts: exact envelope bytes, round trips, unknown-field skipping and
// malformed input for the protobuf codec; plus Metadata and the error helpers.
import t from 'tap';
import { decodeRequest, decodeResponse, decodeStatus, encodeRequest, encodeResponse, encodeStatus } from './codec';
import { Code, TtrpcError, isTtrpcError, messageTooLarge, toStatus } from './errors';
import { Metadata } from './metadata';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('Request encodes to the exact protobuf bytes', async (t) => {
  const bytes = encodeRequest({
    service: 'svc',
    method: 'M',
    payload: Buffer.from([1, 2]),
    timeoutNano: 5_000_000_000,
    metadata: [{ key: 'k', value: 'v' }],
  });
  t.equal(bytes.toString('hex'), '0a03737663' + '12014d' + '1a020102' + '2080e497d012' + '2a060a016b120176');
  t.same(decodeRequest(bytes), {
    service: 'svc',
    method: 'M',
    payload: Buffer.from([1, 2]),
    timeoutNano: 5_000_000_000,
    metadata: [{ key: 'k', value: 'v' }],
  });
});

t.test('empty fields are omitted and decode to defaults', async (t) => {
  const bytes = encodeRequest({ service: 'a', method: '', payload: new Uint8Array(0), timeoutNano: 0, metadata: [] });
  t.equal(bytes.toString('hex'), '0a0161');
  t.same(decodeRequest(bytes), { service: 'a', method: '', payload: Buffer.alloc(0), timeoutNano: 0, metadata: [] });
  t.same(decodeRequest(Buffer.alloc(0)), { service: '', method: '', payload: Buffer.alloc(0), timeoutNano: 0, metadata: [] });
});

t.test('a Uint8Array payload that is a view into a larger buffer encodes only its bytes', async (t) => {
  const big = new Uint8Array([9, 9, 7, 8, 9]);
  const bytes = encodeRequest({ service: '', method: '', payload: big.subarray(2, 4) });
  t.equal(bytes.toString('hex'), '1a020708');
});

t.test('decoders skip unknown fields of every wire type, and known fields with a wrong wire type', async (t) => {
  // unknown: 6 varint, 7 fixed64, 8 bytes, 9 fixed32, group 10 holding a nested group 11;
  // then service given first as a varint (wrong wire type), and a metadata entry with unknown fields 3 and 4.
  const req = decodeRequest(
    hex(`
    3096 01
    39 0102030405060708
    42 02 aabb
    4d 01020304
    53 0801 1201ff 5b 0801 5c 54
    0805
    0a03737663
    12014d
    2a0a 0a016b 120176 1802 2001
  `),
  );
  t.equal(req.service, 'svc');
  t.equal(req.method, 'M');
  t.same(req.metadata, [{ key: 'k', value: 'v' }]);
  t.equal(req.timeoutNano, 0);
});

t.test('malformed requests throw', async (t) => {
  const bad: Record<string, string> = {
    'truncated string': '0a0561',
    'truncated varint': '2080',
    'varint over 10 bytes': '20ffffffffffffffffffff01',
    'wire type 6': '0e',
    'wire type 7': '0f',
    'field number 0': '0200',
    'unterminated group': '530801',
    'mismatched end group': '53 0801 5c',
    'stray end group': '54',
    'truncated fixed64': '39010203',
    'truncated fixed32': '4d01',
    'bad metadata entry': '2a020a05',
  };
  for (const [name, h] of Object.entries(bad)) t.throws(() => decodeRequest(hex(h)), name);
});

t.test('negative and huge int64 timeouts decode as signed', async (t) => {
  t.equal(decodeRequest(hex('20fdffffffffffffffff01')).timeoutNano, -3);
  t.equal(decodeRequest(hex('20ffffffffffffffff7f')).timeoutNano, 2 ** 63 - 1);
});

t.test('Response encoding: empty OK, payload only, status only', async (t) => {
  t.equal(encodeResponse({ payload: Buffer.alloc(0) }).length, 0);
  t.equal(encodeResponse({}).length, 0);
  t.equal(encodeResponse({ payload: Buffer.from('x') }).toString('hex'), '120178');
  const err = encodeResponse({ status: { code: Code.NOT_FOUND, message: 'nf' } });
  t.equal(err.toString('hex'), '0a06' + '0805' + '12026e66');
  t.same(decodeResponse(err), { status: { code: 5, message: 'nf', details: [] }, payload: Buffer.alloc(0) });
  t.same(decodeResponse(Buffer.alloc(0)), { payload: Buffer.alloc(0) });
  t.equal(encodeResponse({ status: { code: 0, message: '' } }).toString('hex'), '0a00');
});

t.test('Status keeps details raw and round-trips negative codes', async (t) => {
  const s = { code: -3, message: 'm', details: [{ typeUrl: 'type.googleapis.com/x.Y', value: Buffer.from([0, 1, 2]) }] };
  const bytes = encodeStatus(s);
  t.equal(bytes.subarray(0, 11).toString('hex'), '08fdffffffffffffffff01');
  t.same(decodeStatus(bytes), s);
  t.throws(() => decodeResponse(hex('0a03080512')), 'truncated status');
});

t.test('Metadata lower-cases keys and accumulates repeated ones', async (t) => {
  const md = Metadata.fromKeyValues([
    { key: 'Containerd-Namespace-TTRPC', value: 'k8s.io' },
    { key: 'x-a', value: '1' },
    { key: 'X-A', value: '2' },
  ]);
  t.equal(md.get('containerd-namespace-ttrpc'), 'k8s.io');
  t.equal(md.get('CONTAINERD-NAMESPACE-TTRPC'), 'k8s.io');
  t.equal(md.get('x-a'), '1');
  t.same(md.getAll('x-a'), ['1', '2']);
  t.same(md.getAll('missing'), []);
  t.equal(md.get('missing'), undefined);
  t.equal(md.size, 2);
  md.getAll('x-a').push('mutated');
  t.same(md.getAll('x-a'), ['1', '2'], 'getAll returns a copy');
  md.set('X-A', 'only').append('New', 'n1').append('new', 'n2');
  t.same(md.toKeyValues(), [
    { key: 'containerd-namespace-ttrpc', value: 'k8s.io' },
    { key: 'x-a', value: 'only' },
    { key: 'new', value: 'n1' },
    { key: 'new', value: 'n2' },
  ]);
  t.ok(md.delete('NEW'));
  t.notOk(md.has('new'));
  md.set('x-a', []);
  t.notOk(md.has('x-a'));
  const copy = new Metadata(md);
  copy.append('containerd-namespace-ttrpc', 'other');
  t.same(md.getAll('containerd-namespace-ttrpc'), ['k8s.io'], 'copy is independent');
  t.same(new Metadata({ A: 'x', B: ['y', 'z'] }).toKeyValues(), [
    { key: 'a', value: 'x' },
    { key: 'b', value: 'y' },
    { key: 'b', value: 'z' },
  ]);
  t.same([...new Metadata({ A: 'x' }).entries()], [['a', ['x']]]);
});

t.test('toStatus: TtrpcError keeps its code, anything else is UNKNOWN', async (t) => {
  const e = new TtrpcError(Code.NOT_FOUND, 'container abc: not found');
  t.ok(e instanceof Error);
  t.ok(isTtrpcError(e));
  t.notOk(isTtrpcError(new Error('x')));
  t.equal(e.name, 'TtrpcError');
  t.same(toStatus(e), { code: 5, message: 'container abc: not found' });
  t.same(toStatus(new Error('boom')), { code: Code.UNKNOWN, message: 'boom' });
  t.same(toStatus('plain string'), { code: 2, message: 'plain string' });
  t.same(toStatus(undefined), { code: 2, message: 'undefined' });
  t.equal(Code.UNAUTHENTICATED, 16);
  t.equal(Code.RESOURCE_EXHAUSTED, 8);
  t.equal(messageTooLarge(5, 4).message, 'message length 5 exceed maximum message size of 4');
  t.equal(messageTooLarge(5, 4).code, Code.RESOURCE_EXHAUSTED);
});
