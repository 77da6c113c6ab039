// The `start` action: choose the pod's socket, listen on it, hand it to a detached serving copy of
// the shim, and print the address. For a container of an existing pod, print that pod's address.
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type { ShimFlags } from './flags';
import { SHIM_SOCKET_DIR } from './zygote-path';

/** GROUP_ANNOTATION lets any client put containers into one sandbox (one shim, one sentry). */
export const GROUP_ANNOTATION = 'io.containerd.runsc-ts.v1.group';
/** CRI_SANDBOX_ID_ANNOTATION is set by containerd's CRI on every container of a pod. */
export const CRI_SANDBOX_ID_ANNOTATION = 'io.kubernetes.cri.sandbox-id';


/** groupId picks the sandbox a container belongs to from its spec's annotations. */
export function groupId(id: string, annotations: Record<string, string> | undefined): string {
  return annotations?.[GROUP_ANNOTATION] || annotations?.[CRI_SANDBOX_ID_ANNOTATION] || id;
}

/** socketPath is where the shim of a group listens (the runc-v2 convention). */
export function socketPath(grpcAddress: string, namespace: string, group: string): string {
  const digest = createHash('sha256').update(path.join(grpcAddress, namespace, group)).digest('hex');
  return path.join(SHIM_SOCKET_DIR, digest);
}

function readAnnotations(bundle: string): Record<string, string> {
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    return spec.annotations ?? {};
  } catch {
    return {}; // Create reports a bad or missing spec with the container's name.
  }
}

function listen(server: net.Server, sock: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ path: sock, backlog: 128 }, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}

/** canDial tells whether something accepts connections on the unix socket (within 200 ms). */
export function canDial(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    const done = (ok: boolean): void => {
      c.destroy();
      resolve(ok);
    };
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    c.setTimeout(200, () => done(false));
  });
}

function writeAddress(bundle: string, address: string): void {
  const tmp = path.join(bundle, '.address.tmp');
  fs.writeFileSync(tmp, address, { mode: 0o600 });
  fs.renameSync(tmp, path.join(bundle, 'address'));
}

/** GroupSocket is the listening socket of a sandbox's shim, or the address of one already serving. */
export interface GroupSocket {
  address: string;
  sock: string;
  group: string;
  /** server is listening when this call created the socket; null when a shim already serves it. */
  server: net.Server | null;
}

/** bindGroupSocket finds the container's sandbox and listens on its socket unless it is served. */
export async function bindGroupSocket(flags: ShimFlags, bundle: string): Promise<GroupSocket> {
  if (!flags.id) throw new Error('start: missing -id');
  if (!flags.namespace) throw new Error('start: missing -namespace');
  const group = groupId(flags.id, readAnnotations(bundle));
  const sock = socketPath(flags.address, flags.namespace, group);
  const address = `unix://${sock}`;
  fs.mkdirSync(SHIM_SOCKET_DIR, { recursive: true, mode: 0o711 });
  const server = net.createServer();
  try {
    await listen(server, sock);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (await canDial(sock)) {
      // The pod's shim is already serving: this container joins its sandbox.
      writeAddress(bundle, address);
      return { address, sock, group, server: null };
    }
    fs.rmSync(sock, { force: true });
    await listen(server, sock);
  }
  fs.chmodSync(sock, 0o600);
  try {
    writeAddress(bundle, address);
  } catch (err) {
    fs.rmSync(sock, { force: true });
    throw err;
  }
  return { address, sock, group, server };
}

/** SHIM_NAME is argv[0] of every shim process, so ps shows them by name rather than as node. */
export const SHIM_NAME = 'containerd-shim-runsc-ts-v1';

/**
 * SERVING_NODE_FLAGS are V8 flags of the long-lived shim processes (serving shims, zygotes).
 * --lite-mode: the shim runs little JavaScript, and without the optimizing tiers an idle shim
 * needs about 2 MB less memory (make bench measures it). --single-threaded: V8 hands no work to
 * background threads, which a zygote's forked copies do not have (see native.forkShim). Their
 * stderr is not containerd's, so V8's notice about the flags goes nowhere.
 */
export const SERVING_NODE_FLAGS = ['--lite-mode', '--single-threaded'];

/** SERVING_ENV is added to their environment: one malloc arena (an idle shim needs no more) saves ~0.4 MB. */
export const SERVING_ENV = { MALLOC_ARENA_MAX: '1' };

/** start runs the cold start action: bind, spawn the serving copy, return the address. */
export async function start(flags: ShimFlags, mainScript: string): Promise<string> {
  const bundle = process.cwd();
  const g = await bindGroupSocket(flags, bundle);
  if (!g.server) return g.address;
  try {
    const fd = (g.server as unknown as { _handle: { fd: number } })._handle.fd;
    const args = [...SERVING_NODE_FLAGS, mainScript, '-namespace', flags.namespace, '-id', flags.id, '-address', flags.address];
    if (flags.publishBinary) args.push('-publish-binary', flags.publishBinary);
    if (flags.debug) args.push('-debug');
    // The serving copy must not hold start's stdout/stderr: containerd waits for them to close.
    const child = spawn(process.execPath, args, {
      argv0: SHIM_NAME,
      cwd: bundle,
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', fd],
      env: { ...process.env, ...SERVING_ENV, RUNSC_TS_GROUP: g.group },
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
  } catch (err) {
    fs.rmSync(g.sock, { force: true });
    throw err;
  }
  // Closing the server would unlink the socket path (libuv does); the caller exits without closing
  // it, and the serving copy owns the socket from here on.
  return g.address;
}
