// server.ts: the ttrpc server: reads frames from each connection, runs unary
// Requests through registered handlers concurrently, and answers each on its stream id.
import type * as net from 'node:net';
import { encodeResponse, decodeRequest, type Response } from './codec';
import { Code, TtrpcError, messageTooLarge, toStatus } from './errors';
import { FrameReader, MessageType, checkMaxMessageSize, encodeFrame, type Frame } from './frame';
import { Metadata } from './metadata';

/** CallContext describes one call to its handler. */
export interface CallContext {
  /** service is the full service name, e.g. `containerd.task.v2.Task`. */
  service: string;
  /** method is the method name, e.g. `Create`. */
  method: string;
  /** metadata is the request metadata (keys lower-cased). */
  metadata: Metadata;
  /** deadline is when the caller gives up, in ms since the epoch; absent when timeout_nano is 0. */
  deadline?: number;
  /** signal is aborted when the deadline passes or the connection closes. */
  signal: AbortSignal;
  /** streamId is the stream id of the request. */
  streamId: number;
  /** connection is the socket the call arrived on. */
  connection: net.Socket;
}

/** Handler serves one method: it gets the serialized input and resolves to the serialized output. */
export type Handler = (payload: Buffer, ctx: CallContext) => Promise<Uint8Array | Buffer>;

/** ServerOptions configures a Server. */
export interface ServerOptions {
  /** maxMessageSize caps frame data both ways (default 4 MiB). */
  maxMessageSize?: number;
  /** onConnection sees each new connection first; returning false closes it at once (e.g. a failed peer check). */
  onConnection?: (socket: net.Socket) => boolean | void;
  /** onConnectionClose is called after a connection has closed, for whatever reason. */
  onConnectionClose?: (socket: net.Socket) => void;
  /** onError receives protocol and socket problems the server recovered from (for debug logs). */
  onError?: (err: Error, socket?: net.Socket) => void;
}

/** CLOSE_GRACE_MS is how long close() lets queued responses drain before destroying a socket. */
const CLOSE_GRACE_MS = 1000;

/** MAX_TIMER_MS is the longest delay setTimeout supports. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Call is the server-side state of one request in flight. */
interface Call {
  abort: AbortController;
  timer?: NodeJS.Timeout;
}

/** ConnectionHooks is what a Connection needs from its Server. */
interface ConnectionHooks {
  dispatch(conn: Connection, frame: Frame): void;
  report(err: unknown): void;
  closed(conn: Connection): void;
}

/** Server is a ttrpc server for unary calls. */
export class Server {
  private readonly services = new Map<string, Map<string, Handler>>();
  private readonly listeners = new Map<net.Server, (socket: net.Socket) => void>();
  private readonly conns = new Set<Connection>();
  private readonly maxMessageSize: number;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ServerOptions = {}) {
    this.maxMessageSize = checkMaxMessageSize(opts.maxMessageSize);
  }

  /** connections is the number of open connections. */
  get connections(): number {
    return this.conns.size;
  }

  /** register adds a service; methods maps method names to handlers. */
  register(serviceName: string, methods: Record<string, Handler>): void {
    if (this.services.has(serviceName)) throw new Error(`ttrpc: service ${serviceName} already registered`);
    const table = new Map<string, Handler>();
    for (const [name, handler] of Object.entries(methods)) {
      if (typeof handler !== 'function') throw new TypeError(`ttrpc: ${serviceName}/${name} is not a function`);
      table.set(name, handler);
    }
    this.services.set(serviceName, table);
  }

  /** serve accepts every connection of listener (which may already be listening). */
  serve(listener: net.Server): void {
    if (this.closing) throw new Error('ttrpc: server closed');
    if (this.listeners.has(listener)) return;
    const onConn = (socket: net.Socket): void => this.addConnection(socket);
    this.listeners.set(listener, onConn);
    listener.on('connection', onConn);
  }

  /** addConnection serves an already-connected socket (e.g. one end of a socketpair). */
  addConnection(socket: net.Socket): void {
    let accept: boolean | void = this.closing === undefined;
    try {
      if (accept) accept = this.opts.onConnection?.(socket);
    } catch (err) {
      this.report(err, socket);
      accept = false;
    }
    if (accept === false) {
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const hooks: ConnectionHooks = {
      dispatch: (conn, frame) => this.dispatch(conn, frame),
      report: (err) => this.report(err, socket),
      closed: (conn) => {
        this.conns.delete(conn);
        try {
          this.opts.onConnectionClose?.(socket);
        } catch (err) {
          this.report(err, socket);
        }
      },
    };
    this.conns.add(new Connection(hooks, socket, this.maxMessageSize));
  }

  /** close stops accepting, closes every connection (aborting calls in flight) and resolves once all are closed. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const waits: Promise<void>[] = [];
      for (const [listener, onConn] of this.listeners) {
        listener.off('connection', onConn);
        waits.push(new Promise((resolve) => listener.close(() => resolve())));
      }
      this.listeners.clear();
      for (const conn of this.conns) waits.push(conn.close());
      await Promise.all(waits);
    })();
    return this.closing;
  }

  /** report hands a recovered problem to onError; it never throws. */
  private report(err: unknown, socket?: net.Socket): void {
    try {
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)), socket);
    } catch {
      // A failing log hook must not take the connection down.
    }
  }

  /** dispatch runs one Request frame and answers it on its stream. */
  private dispatch(conn: Connection, frame: Frame): void {
    const id = frame.streamId;
    if (frame.type !== MessageType.Request) {
      this.report(new Error(`ttrpc: ignoring frame of type ${frame.type} on stream ${id}`), conn.socket);
      return;
    }
    if (frame.flags !== 0) {
      // ttrpc 1.1 treats the flags byte as reserved: serve the call as unary.
      this.report(new Error(`ttrpc: ignoring flags 0x${frame.flags.toString(16)} on request stream ${id}`), conn.socket);
    }
    if (id % 2 === 0) {
      conn.send(id, statusOf(Code.INVALID_ARGUMENT, 'StreamID must be odd for client initiated streams'));
      return;
    }
    if (conn.calls.has(id)) {
      conn.send(id, statusOf(Code.INVALID_ARGUMENT, `StreamID ${id} is already in use`));
      return;
    }
    let req;
    try {
      req = decodeRequest(frame.data);
    } catch (err) {
      conn.send(id, statusOf(Code.INVALID_ARGUMENT, `unmarshal request error: ${toStatus(err).message}`));
      return;
    }
    const methods = this.services.get(req.service);
    if (methods === undefined) {
      conn.send(id, statusOf(Code.UNIMPLEMENTED, `service ${req.service}`));
      return;
    }
    const handler = methods.get(req.method);
    if (handler === undefined) {
      conn.send(id, statusOf(Code.UNIMPLEMENTED, `method ${req.method}`));
      return;
    }

    const call: Call = { abort: new AbortController() };
    let deadline: number | undefined;
    if (req.timeoutNano > 0) {
      const ms = req.timeoutNano / 1e6;
      deadline = Date.now() + ms;
      if (ms <= MAX_TIMER_MS) {
        call.timer = setTimeout(
          () => call.abort.abort(new TtrpcError(Code.DEADLINE_EXCEEDED, 'context deadline exceeded')),
          ms,
        );
      }
    }
    conn.calls.set(id, call);
    const ctx: CallContext = {
      service: req.service,
      method: req.method,
      metadata: Metadata.fromKeyValues(req.metadata),
      deadline,
      signal: call.abort.signal,
      streamId: id,
      connection: conn.socket,
    };
    const finish = (res: Response): void => {
      clearTimeout(call.timer);
      if (conn.calls.get(id) !== call) return; // the connection closed meanwhile
      conn.calls.delete(id);
      conn.send(id, res);
    };
    let pending: Promise<Uint8Array>;
    try {
      pending = Promise.resolve(handler(req.payload, ctx));
    } catch (err) {
      pending = Promise.reject(err);
    }
    const name = `${req.service}/${req.method}`;
    pending
      .then(
        (out) => {
          if (out instanceof Uint8Array) finish({ payload: out });
          else finish(statusOf(Code.INTERNAL, `ttrpc: ${name} returned ${typeof out}, not bytes`));
        },
        (err: unknown) => finish({ status: toStatus(err) }),
      )
      .catch((err: unknown) => this.report(err, conn.socket));
  }
}

/** statusOf builds an error Response. */
function statusOf(code: Code, message: string): Response {
  return { status: { code, message } };
}

/** Connection is the server side of one client connection. */
class Connection {
  /** calls holds the requests in flight by stream id. */
  readonly calls = new Map<number, Call>();
  private readonly reader: FrameReader;
  private readonly done: Promise<void>;

  constructor(hooks: ConnectionHooks, readonly socket: net.Socket, private readonly max: number) {
    const reader = (this.reader = new FrameReader({ maxMessageSize: max }));
    reader.on('frame', (f) => hooks.dispatch(this, f));
    reader.on('oversized', (h) => {
      if (h.type === MessageType.Request) this.send(h.streamId, { status: messageTooLarge(h.length, max) });
      else hooks.report(messageTooLarge(h.length, max));
    });
    reader.on('garbage', (reason) => {
      hooks.report(new Error(reason));
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('end', () => {
      if (reader.midFrame) hooks.report(new Error('ttrpc: peer closed the connection mid-frame'));
      reader.stop();
    });
    socket.on('error', (err) => hooks.report(err));
    this.done = new Promise((resolve) => {
      const onClose = (): void => {
        reader.stop();
        this.abortAll();
        hooks.closed(this);
        resolve();
      };
      if (socket.closed) process.nextTick(onClose);
      else socket.once('close', onClose);
    });
  }

  /** send writes one Response on stream id, replacing an over-cap answer with RESOURCE_EXHAUSTED. */
  send(id: number, res: Response): void {
    if (!this.socket.writable) return;
    let data = encodeResponse(res);
    if (data.length > this.max) data = encodeResponse({ status: messageTooLarge(data.length, this.max) });
    this.socket.write(encodeFrame(id, MessageType.Response, 0, data));
  }

  /** close stops reading, lets queued responses drain, and resolves once the socket has closed. */
  close(): Promise<void> {
    this.reader.stop();
    this.abortAll();
    if (!this.socket.destroyed) {
      setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
      this.socket.end(() => this.socket.destroy());
    }
    return this.done;
  }

  private abortAll(): void {
    for (const call of this.calls.values()) {
      clearTimeout(call.timer);
      call.abort.abort(new TtrpcError(Code.CANCELLED, 'ttrpc: connection closed'));
    }
    this.calls.clear();
  }
}
