// frame.ts: the ttrpc frame (10-byte header + data) and FrameReader, which cuts an
// arbitrary byte stream into frames without ever buffering an oversized one.
import { EventEmitter } from 'node:events';

/** HEADER_SIZE is the length of a frame header in bytes. */
export const HEADER_SIZE = 10;

/** DEFAULT_MAX_MESSAGE_SIZE is the largest data length ttrpc accepts (4 MiB). */
export const DEFAULT_MAX_MESSAGE_SIZE = 4 << 20;

/** MAX_FRAME_LENGTH is the largest length the header can express: its top byte is reserved and must be 0. */
export const MAX_FRAME_LENGTH = 0xffffff;

/** MessageType is the frame type byte. */
export enum MessageType {
  Request = 0x01,
  Response = 0x02,
  Data = 0x03,
}

/** FrameHeader is a decoded frame header; length counts data bytes only. */
export interface FrameHeader {
  length: number;
  streamId: number;
  type: number;
  flags: number;
}

/** Frame is a header plus its data. */
export interface Frame extends FrameHeader {
  data: Buffer;
}

/** encodeHeader writes a header into a fresh 10-byte buffer. */
export function encodeHeader(h: FrameHeader): Buffer {
  const buf = Buffer.alloc(HEADER_SIZE);
  buf.writeUInt32BE(h.length, 0);
  buf.writeUInt32BE(h.streamId, 4);
  buf.writeUInt8(h.type, 8);
  buf.writeUInt8(h.flags, 9);
  return buf;
}

/** decodeHeader reads a header from buf at offset (which must hold at least 10 bytes). */
export function decodeHeader(buf: Uint8Array, offset = 0): FrameHeader {
  if (buf.length - offset < HEADER_SIZE) throw new RangeError('ttrpc: short frame header');
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    length: b.readUInt32BE(offset),
    streamId: b.readUInt32BE(offset + 4),
    type: b[offset + 8],
    flags: b[offset + 9],
  };
}

/** encodeFrame returns header and data as one buffer, ready for a single write. */
export function encodeFrame(streamId: number, type: number, flags: number, data: Uint8Array): Buffer {
  if (data.length > MAX_FRAME_LENGTH) throw new RangeError(`ttrpc: frame data of ${data.length} bytes cannot be framed`);
  const buf = Buffer.allocUnsafe(HEADER_SIZE + data.length);
  buf.writeUInt32BE(data.length, 0);
  buf.writeUInt32BE(streamId, 4);
  buf.writeUInt8(type, 8);
  buf.writeUInt8(flags, 9);
  buf.set(data, HEADER_SIZE);
  return buf;
}

/** checkMaxMessageSize returns the cap to use (default 4 MiB), throwing RangeError if the header cannot express it. */
export function checkMaxMessageSize(max: number = DEFAULT_MAX_MESSAGE_SIZE): number {
  if (!Number.isInteger(max) || max < 0 || max > MAX_FRAME_LENGTH) {
    throw new RangeError(`ttrpc: maxMessageSize must be an integer in [0, ${MAX_FRAME_LENGTH}]`);
  }
  return max;
}

/** FrameReaderOptions configures a FrameReader. */
export interface FrameReaderOptions {
  /** maxMessageSize is the largest data length delivered; longer frames are discarded. */
  maxMessageSize?: number;
}

/** FrameReader events: 'frame' for each whole frame, 'oversized' once an over-cap frame has been skipped, 'garbage' when framing is lost (the reader then stops). */
export interface FrameReader {
  on(event: 'frame', listener: (frame: Frame) => void): this;
  on(event: 'oversized', listener: (header: FrameHeader) => void): this;
  on(event: 'garbage', listener: (reason: string) => void): this;
  emit(event: 'frame', frame: Frame): boolean;
  emit(event: 'oversized', header: FrameHeader): boolean;
  emit(event: 'garbage', reason: string): boolean;
}

/** FrameReader accepts chunks of any size via push() and emits the frames they carry, in order. */
export class FrameReader extends EventEmitter {
  /** maxMessageSize is the cap on delivered data length. */
  readonly maxMessageSize: number;
  private readonly head = Buffer.alloc(HEADER_SIZE);
  private headFill = 0;
  private current: FrameHeader | undefined;
  private body: Buffer | undefined;
  private bodyFill = 0;
  private skip = 0;
  private stopped = false;

  constructor(opts: FrameReaderOptions = {}) {
    super();
    this.maxMessageSize = checkMaxMessageSize(opts.maxMessageSize);
  }

  /** bufferedBytes is how many bytes of an unfinished frame are held in memory. */
  get bufferedBytes(): number {
    return this.headFill + this.bodyFill;
  }

  /** midFrame is true when part of a frame (header, data, or skipped data) has been seen but not all of it. */
  get midFrame(): boolean {
    return this.headFill > 0 || this.current !== undefined;
  }

  /** stop makes the reader ignore all further input and drop what it holds. */
  stop(): void {
    this.stopped = true;
    this.body = undefined;
    this.current = undefined;
    this.headFill = this.bodyFill = this.skip = 0;
  }

  /** push feeds the next chunk of the stream; listeners run synchronously from inside it. */
  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length && !this.stopped) {
      const h = this.current;
      if (h === undefined) {
        const n = Math.min(HEADER_SIZE - this.headFill, chunk.length - off);
        this.head.set(chunk.subarray(off, off + n), this.headFill);
        this.headFill += n;
        off += n;
        if (this.headFill === HEADER_SIZE) this.startFrame();
      } else if (this.body === undefined) {
        // Over the cap: count the data down without keeping it.
        const n = Math.min(this.skip, chunk.length - off);
        this.skip -= n;
        off += n;
        if (this.skip === 0) {
          this.current = undefined;
          this.emit('oversized', h);
        }
      } else {
        const n = Math.min(h.length - this.bodyFill, chunk.length - off);
        this.body.set(chunk.subarray(off, off + n), this.bodyFill);
        this.bodyFill += n;
        off += n;
        if (this.bodyFill === h.length) this.finishFrame(h, this.body);
      }
    }
  }

  private startFrame(): void {
    this.headFill = 0;
    if (this.head[0] !== 0) {
      this.stop();
      this.emit('garbage', `ttrpc: invalid frame header ${this.head.toString('hex')} (reserved length byte is not zero)`);
      return;
    }
    const h = decodeHeader(this.head);
    this.current = h;
    if (h.length > this.maxMessageSize) {
      this.skip = h.length;
      return;
    }
    if (h.length === 0) {
      this.finishFrame(h, Buffer.alloc(0));
      return;
    }
    this.body = Buffer.allocUnsafe(h.length);
    this.bodyFill = 0;
  }

  private finishFrame(h: FrameHeader, data: Buffer): void {
    this.current = undefined;
    this.body = undefined;
    this.bodyFill = 0;
    this.emit('frame', { ...h, data });
  }
}
