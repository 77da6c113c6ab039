// testutil.ts: helpers shared by the ttrpc tests: temp unix sockets, a served
// Server, and a raw peer that writes bytes and reads frames without using Client.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeResponse, encodeRequest, type DecodedResponse, type Request } from './codec';
import { FrameReader, MessageType, encodeFrame, type Frame } from './frame';
import { Server, type ServerOptions } from './server';

/** Teardown is the slice of a tap Test the helpers need. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** tempSocketPath returns a fresh socket path in a temp dir removed at teardown. */
export function tempSocketPath(t: Teardown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttrpc-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 's.sock');
}

/** startServer serves a new Server on a temp unix socket; it is closed at teardown. */
export async function startServer(
  t: Teardown,
  opts: ServerOptions = {},
): Promise<{ server: Server; path: string; listener: net.Server }> {
  const p = tempSocketPath(t);
  const server = new Server(opts);
  const listener = net.createServer();
  server.serve(listener);
  await new Promise<void>((resolve) => listener.listen(p, resolve));
  t.teardown(() => server.close());
  return { server, path: p, listener };
}

/** connect opens a unix socket connection, destroyed at teardown. */
export function connect(t: Teardown, p: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(p);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
    t.teardown(() => s.destroy());
  });
}

/** RawPeer speaks ttrpc by hand: it writes arbitrary bytes and queues every frame it receives. */
export class RawPeer {
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    const reader = new FrameReader();
    reader.on('frame', (f) => {
      this.frames.push(f);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('data', (c: Buffer) => reader.push(c));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** connect opens a RawPeer to path p. */
  static async connect(t: Teardown, p: string): Promise<RawPeer> {
    return new RawPeer(await connect(t, p));
  }

  /** write sends raw bytes. */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** request sends one Request frame (flags 0 unless given). */
  request(id: number, req: Request, flags = 0): void {
    this.write(encodeFrame(id, MessageType.Request, flags, encodeRequest(req)));
  }

  /** next resolves to the next unread frame. */
  async next(): Promise<Frame> {
    while (this.frames.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    return this.frames.shift()!;
  }

  /** response resolves to the next frame, checked to be a Response, decoded. */
  async response(): Promise<Frame & { res: DecodedResponse }> {
    const f = await this.next();
    if (f.type !== MessageType.Response) throw new Error(`expected a Response frame, got type ${f.type}`);
    return { ...f, res: decodeResponse(f.data) };
  }
}

/** deferred returns a promise with its resolve function. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** delay resolves after ms. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
