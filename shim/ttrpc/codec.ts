// codec.ts: a minimal protobuf wire codec for the ttrpc envelope (Request, Response,
// google.rpc.Status, KeyValue); decoders skip unknown fields of every wire type.

/** KeyValue is one metadata entry (ttrpc.KeyValue). */
export interface KeyValue {
  key: string;
  value: string;
}

/** AnyMessage is a google.protobuf.Any kept undecoded. */
export interface AnyMessage {
  typeUrl: string;
  value: Buffer;
}

/** Status is google.rpc.Status. */
export interface Status {
  code: number;
  message: string;
  details?: AnyMessage[];
}

/** Request is the envelope of a call (ttrpc.Request); timeoutNano 0 means no deadline. */
export interface Request {
  service: string;
  method: string;
  payload: Uint8Array;
  timeoutNano?: number;
  metadata?: KeyValue[];
}

/** DecodedRequest is a Request as read from the wire, every field filled. */
export interface DecodedRequest extends Request {
  payload: Buffer;
  timeoutNano: number;
  metadata: KeyValue[];
}

/** Response is the envelope of an answer (ttrpc.Response); an absent status means OK. */
export interface Response {
  status?: Status;
  payload?: Uint8Array;
}

/** DecodedResponse is a Response as read from the wire. */
export interface DecodedResponse extends Response {
  payload: Buffer;
}

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

/** Writer accumulates protobuf fields; zero values are skipped by the callers. */
class Writer {
  private readonly parts: Buffer[] = [];

  varint(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    const out: number[] = [];
    while (u >= 0x80n) {
      out.push(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    out.push(Number(u));
    this.parts.push(Buffer.from(out));
  }

  tag(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  int(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, VARINT);
    this.varint(BigInt(Math.trunc(v)));
  }

  bytes(field: number, v: Uint8Array): void {
    this.tag(field, BYTES);
    this.varint(BigInt(v.length));
    this.parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }

  optBytes(field: number, v: Uint8Array | undefined): void {
    if (v !== undefined && v.length > 0) this.bytes(field, v);
  }

  string(field: number, v: string): void {
    if (v !== '') this.bytes(field, Buffer.from(v, 'utf8'));
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Reader walks the fields of one message. */
class Reader {
  private pos: number;

  constructor(private readonly buf: Buffer, start = 0, private readonly end = buf.length) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new Error('unexpected end of data in varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw new Error('varint overflows 64 bits');
  }

  /** tag returns [field, wireType] of the next field. */
  tag(): [number, number] {
    const t = this.varint();
    const field = Number(t >> 3n);
    if (field === 0 || t > 0xffffffffn) throw new Error(`invalid field tag ${t}`);
    return [field, Number(t & 7n)];
  }

  bytes(): Buffer {
    const n = this.varint();
    if (n > BigInt(this.end - this.pos)) throw new Error('length-delimited field runs past the end of data');
    const start = this.pos;
    this.pos += Number(n);
    return this.buf.subarray(start, this.pos);
  }

  string(): string {
    return this.bytes().toString('utf8');
  }

  int32(): number {
    return Number(BigInt.asIntN(32, this.varint()));
  }

  int64(): number {
    return Number(BigInt.asIntN(64, this.varint()));
  }

  /** skip passes over one field whose tag has been read. */
  skip(field: number, wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.advance(8);
        return;
      case BYTES:
        this.bytes();
        return;
      case FIXED32:
        this.advance(4);
        return;
      case START_GROUP:
        for (;;) {
          if (this.done()) throw new Error(`unterminated group ${field}`);
          const [f, wt] = this.tag();
          if (wt === END_GROUP) {
            if (f !== field) throw new Error(`group ${field} closed by end-group ${f}`);
            return;
          }
          this.skip(f, wt);
        }
      default:
        throw new Error(`invalid wire type ${wireType} for field ${field}`);
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) throw new Error('fixed-size field runs past the end of data');
    this.pos += n;
  }
}

/** fields reads every field of buf, handing the known ones (right wire type) to visit and skipping the rest. */
function fields(buf: Buffer, types: Record<number, number>, visit: (field: number, r: Reader) => void): void {
  const r = new Reader(buf);
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (wt === END_GROUP) throw new Error(`unexpected end-group for field ${field}`);
    if (types[field] === wt) visit(field, r);
    else r.skip(field, wt);
  }
}

/** asBuffer views any Uint8Array as a Buffer without copying. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** encodeRequest serializes a Request, omitting empty fields. */
export function encodeRequest(req: Request): Buffer {
  const w = new Writer();
  w.string(1, req.service);
  w.string(2, req.method);
  w.optBytes(3, req.payload);
  w.int(4, req.timeoutNano ?? 0);
  for (const kv of req.metadata ?? []) w.bytes(5, encodeKeyValue(kv));
  return w.finish();
}

/** decodeRequest parses a Request; it throws on malformed data. */
export function decodeRequest(data: Uint8Array): DecodedRequest {
  const req: DecodedRequest = { service: '', method: '', payload: Buffer.alloc(0), timeoutNano: 0, metadata: [] };
  fields(asBuffer(data), { 1: BYTES, 2: BYTES, 3: BYTES, 4: VARINT, 5: BYTES }, (field, r) => {
    if (field === 1) req.service = r.string();
    else if (field === 2) req.method = r.string();
    else if (field === 3) req.payload = r.bytes();
    else if (field === 4) req.timeoutNano = r.int64();
    else req.metadata.push(decodeKeyValue(r.bytes()));
  });
  return req;
}

/** encodeResponse serializes a Response; an OK answer with an empty payload is zero bytes. */
export function encodeResponse(res: Response): Buffer {
  const w = new Writer();
  if (res.status !== undefined) w.bytes(1, encodeStatus(res.status));
  w.optBytes(2, res.payload);
  return w.finish();
}

/** decodeResponse parses a Response; it throws on malformed data. */
export function decodeResponse(data: Uint8Array): DecodedResponse {
  const res: DecodedResponse = { payload: Buffer.alloc(0) };
  fields(asBuffer(data), { 1: BYTES, 2: BYTES }, (field, r) => {
    if (field === 1) res.status = decodeStatus(r.bytes());
    else res.payload = r.bytes();
  });
  return res;
}

/** encodeStatus serializes a google.rpc.Status. */
export function encodeStatus(s: Status): Buffer {
  const w = new Writer();
  w.int(1, s.code);
  w.string(2, s.message);
  for (const d of s.details ?? []) {
    const a = new Writer();
    a.string(1, d.typeUrl);
    a.optBytes(2, d.value);
    w.bytes(3, a.finish());
  }
  return w.finish();
}

/** decodeStatus parses a google.rpc.Status, keeping details undecoded. */
export function decodeStatus(data: Uint8Array): Status {
  const s: Status = { code: 0, message: '', details: [] };
  fields(asBuffer(data), { 1: VARINT, 2: BYTES, 3: BYTES }, (field, r) => {
    if (field === 1) s.code = r.int32();
    else if (field === 2) s.message = r.string();
    else s.details!.push(decodeAny(r.bytes()));
  });
  return s;
}

function decodeAny(data: Buffer): AnyMessage {
  const a: AnyMessage = { typeUrl: '', value: Buffer.alloc(0) };
  fields(data, { 1: BYTES, 2: BYTES }, (field, r) => {
    if (field === 1) a.typeUrl = r.string();
    else a.value = r.bytes();
  });
  return a;
}

function encodeKeyValue(kv: KeyValue): Buffer {
  const w = new Writer();
  w.string(1, kv.key);
  w.string(2, kv.value);
  return w.finish();
}

function decodeKeyValue(data: Buffer): KeyValue {
  const kv: KeyValue = { key: '', value: '' };
  fields(data, { 1: BYTES, 2: BYTES }, (field, r) => {
    if (field === 1) kv.key = r.string();
    else kv.value = r.string();
  });
  return kv;
}
