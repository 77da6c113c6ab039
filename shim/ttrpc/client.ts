// client.ts: the ttrpc client: sends unary Requests on odd stream ids over one
// connection and matches Responses back to their calls.
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { decodeResponse, encodeRequest } from './codec';
import { Code, TtrpcError, messageTooLarge } from './errors';
import { FrameReader, MessageType, checkMaxMessageSize, encodeFrame, type Frame } from './frame';
import { Metadata, type MetadataInit } from './metadata';

/** FrameWriter sends one whole frame, with fds attached as SCM_RIGHTS, synchronously and in call order. */
export type FrameWriter = (frame: Buffer, fds: number[]) => void;

/** ClientOptions configures a Client. */
export interface ClientOptions {
  /** maxMessageSize caps frame data both ways (default 4 MiB). */
  maxMessageSize?: number;
  /** writer, when given, carries every outgoing frame instead of socket.write. */
  writer?: FrameWriter;
}

/** CallOptions tunes one call. */
export interface CallOptions {
  /** timeoutMs is sent as timeout_nano and also enforced locally (DEADLINE_EXCEEDED). */
  timeoutMs?: number;
  /** metadata is sent with the request. */
  metadata?: MetadataInit;
  /** fds are file descriptors passed with the request frame; they need a writer. */
  fds?: number[];
  /** signal cancels the call locally (CANCELLED); a late answer is dropped. */
  signal?: AbortSignal;
}

/** Pending is a call waiting for its Response. */
interface Pending {
  resolve(payload: Buffer): void;
  reject(err: TtrpcError): void;
}

/** MAX_STREAM_ID is the largest stream id the header can carry. */
const MAX_STREAM_ID = 0xffffffff;

/** MAX_TIMER_MS is the longest delay setTimeout supports; longer timeouts are only sent to the server. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Client events: 'close' once, when close() is called or the connection closes, after every pending call has failed. */
export interface Client {
  on(event: 'close', listener: () => void): this;
  once(event: 'close', listener: () => void): this;
  emit(event: 'close'): boolean;
}

/** Client makes unary ttrpc calls over one connected socket. */
export class Client extends EventEmitter {
  private readonly pending = new Map<number, Pending>();
  private readonly reader: FrameReader;
  private readonly max: number;
  private readonly writer: FrameWriter | undefined;
  private readonly done: Promise<void>;
  private nextId = 1;
  private isClosed = false;

  constructor(private readonly socket: net.Socket, opts: ClientOptions = {}) {
    super();
    this.max = checkMaxMessageSize(opts.maxMessageSize);
    this.writer = opts.writer;
    this.reader = new FrameReader({ maxMessageSize: this.max });
    this.reader.on('frame', (f) => this.receive(f));
    this.reader.on('oversized', (h) => this.settle(h.streamId, messageTooLarge(h.length, this.max)));
    this.reader.on('garbage', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', () => {}); // 'close' follows and fails every pending call
    this.done = new Promise((resolve) => {
      const onClose = (): void => {
        this.shutdown();
        resolve();
      };
      if (socket.closed) process.nextTick(onClose);
      else socket.once('close', onClose);
    });
  }

  /** closed is true once the connection is gone or close() was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** call sends one request and resolves to the response payload, or rejects with a TtrpcError. */
  call(service: string, method: string, payload: Uint8Array, opts: CallOptions = {}): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const fds = opts.fds ?? [];
      if (this.isClosed) return reject(closedError());
      if (opts.signal?.aborted) return reject(canceledError());
      if (fds.length > 0 && this.writer === undefined) {
        return reject(new TtrpcError(Code.INVALID_ARGUMENT, 'ttrpc: passing fds needs a frame writer'));
      }
      const timeoutMs = opts.timeoutMs ?? 0;
      const data = encodeRequest({
        service,
        method,
        payload,
        timeoutNano: timeoutMs > 0 ? Math.round(timeoutMs * 1e6) : 0,
        metadata: opts.metadata === undefined ? [] : new Metadata(opts.metadata).toKeyValues(),
      });
      if (data.length > this.max) return reject(messageTooLarge(data.length, this.max));
      if (this.nextId > MAX_STREAM_ID) {
        return reject(new TtrpcError(Code.RESOURCE_EXHAUSTED, 'ttrpc: stream ids exhausted on this connection'));
      }
      const id = this.nextId;
      this.nextId += 2;

      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => this.settle(id, canceledError());
      const cleanup = (): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, {
        resolve: (p) => (cleanup(), resolve(p)),
        reject: (e) => (cleanup(), reject(e)),
      });
      if (timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS) {
        timer = setTimeout(
          () => this.settle(id, new TtrpcError(Code.DEADLINE_EXCEEDED, 'context deadline exceeded')),
          timeoutMs,
        );
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.write(id, encodeFrame(id, MessageType.Request, 0, data), fds);
    });
  }

  /** close fails every pending call with UNAVAILABLE `ttrpc: closed` and resolves once the socket has closed. */
  close(): Promise<void> {
    this.shutdown();
    this.socket.destroy();
    return this.done;
  }

  private write(id: number, frame: Buffer, fds: number[]): void {
    if (this.writer === undefined) {
      this.socket.write(frame);
      return;
    }
    try {
      this.writer(frame, fds);
    } catch (err) {
      // A frame may be half written: the stream is no longer usable.
      const msg = err instanceof Error ? err.message : String(err);
      this.settle(id, new TtrpcError(Code.UNAVAILABLE, `ttrpc: writing request: ${msg}`, { cause: err }));
      this.socket.destroy();
    }
  }

  private receive(f: Frame): void {
    if (f.type !== MessageType.Response) {
      this.settle(f.streamId, new TtrpcError(Code.INTERNAL, `ttrpc: unknown message type ${f.type} received`));
      return;
    }
    const call = this.pending.get(f.streamId);
    if (call === undefined) return; // timed out or cancelled: a late answer is dropped
    this.pending.delete(f.streamId);
    let res;
    try {
      res = decodeResponse(f.data);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      call.reject(new TtrpcError(Code.INTERNAL, `ttrpc: unmarshal response error: ${msg}`));
      return;
    }
    if (res.status !== undefined && res.status.code !== Code.OK) {
      call.reject(new TtrpcError(res.status.code, res.status.message));
    } else {
      call.resolve(res.payload);
    }
  }

  /** settle fails the call on stream id, if it is still pending. */
  private settle(id: number, err: TtrpcError): void {
    const call = this.pending.get(id);
    if (call === undefined) return;
    this.pending.delete(id);
    call.reject(err);
  }

  private shutdown(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.reader.stop();
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(closedError());
    this.emit('close');
  }
}

function closedError(): TtrpcError {
  return new TtrpcError(Code.UNAVAILABLE, 'ttrpc: closed');
}

function canceledError(): TtrpcError {
  return new TtrpcError(Code.CANCELLED, 'context canceled');
}
