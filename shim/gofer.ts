// The gofer of one container: runsc-ts-gofer serving the container's root (and its directory
// binds) to the sandbox as FUSE file systems. The shim opens one /dev/fuse per file system, gives
// the gofer its copies, sends the sentry its copies (the set-up child mounts them) and closes its
// own. If the gofer dies, the shim logs why and tells the sentry (GoferDied), which then answers
// every request on those connections with EIO (or, over io_uring, lets the kernel end them:
// ENOTCONN): the container's file operations fail, none hangs.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { SandboxConfig } from './config';
import type { runsc_ts } from './gen/protos';
import { getLogFd, log } from './log';

/** GOFER_BINARY sits next to the sentry (override: RUNSC_TS_GOFER). */
export const GOFER_BINARY = process.env.RUNSC_TS_GOFER || path.resolve(__dirname, '..', '..', 'Release', 'runsc-ts-gofer');

/** DEV_FUSE is the FUSE device. */
const DEV_FUSE = '/dev/fuse';

// How long a gofer may take to end by itself once its container is gone (its file systems are
// unmounted with the container's mount namespace) before it is killed.
const EXIT_GRACE_MS = 1000;

type SpecMount = runsc_ts.sentry.v1.IMount;

/**
 * servedByGofer says whether a spec mount is a bind the gofer serves: binds of directories that
 * are not under /dev, /proc or /sys. File binds (CRI's hosts, resolv.conf, hostname, termination
 * log), device and socket binds and /dev/shm stay direct binds: they are single host objects that
 * the host side (or, for /dev/shm, other containers' mmaps) must see as the very same file.
 */
export function servedByGofer(m: SpecMount): boolean {
  const bind = m.type === 'bind' || (Number(m.flags ?? 0) & 0x1000) !== 0; // MS_BIND
  if (!bind || !m.source || !m.destination) return false;
  if (/^\/(dev|proc|sys)(\/|$)/.test(m.destination)) return false;
  try {
    return fs.statSync(m.source).isDirectory();
  } catch {
    return false; // the sentry reports a missing source with the mount's name
  }
}

/** FileServer is what the task service needs of a container's gofer. */
export interface FileServer {
  /** ioUring: it serves over FUSE io_uring (then only a gofer can answer its requests). */
  readonly ioUring: boolean;
  /** stop ends it: after its file systems went with the container, or at once (now). */
  stop(now?: boolean): Promise<void>;
  /** onDied registers a handler for its dying on its own (called at once if it already has). */
  onDied(handler: () => void): void;
}

/**
 * StartGofer is Gofer.start's shape (the service takes another in tests): it serves rootfs, or
 * with layers (overlay = snapshot) each image layer directory instead, top first.
 */
export type StartGofer = (id: string, rootfs: string, mounts: SpecMount[], config: SandboxConfig, layers?: string[]) => Promise<{ gofer: FileServer; fds: number[] }>;

// The host's switches for FUSE over io_uring: the fuse module offers it only while enable_uring
// is Y (runsc-ts never sets it; docs/OPERATIONS.md), and io_uring_disabled must let the gofer in.
const ENABLE_URING = '/sys/module/fuse/parameters/enable_uring';
const IO_URING_DISABLED = '/proc/sys/kernel/io_uring_disabled';

/**
 * fuseOverIoUring says whether gofers serve over io_uring: when the host offers it. The shim
 * decides (the gofer's --io-uring on or off, never auto) so that it knows which transport a gofer
 * used when it dies: requests waiting in a dead gofer's rings are ended otherwise (GoferDied).
 */
export function fuseOverIoUring(read = (p: string): string => fs.readFileSync(p, 'utf8')): boolean {
  const text = (p: string): string | undefined => {
    try {
      return read(p).trim();
    } catch {
      return undefined;
    }
  };
  return text(ENABLE_URING) === 'Y' && (text(IO_URING_DISABLED) ?? '0') === '0';
}

/** Gofer is one running runsc-ts-gofer. */
export class Gofer implements FileServer {
  private exited = false;
  private stopping = false;
  private died = false;
  private readonly diedHandlers: (() => void)[] = [];
  private readonly done: Promise<void>;

  private constructor(
    readonly containerId: string,
    private readonly child: ChildProcess,
    readonly ioUring: boolean,
  ) {
    this.done = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        if (!this.stopping) {
          log.error('gofer died', { id: containerId, pid: child.pid, why: signal ? `killed by ${signal}` : `exit status ${code}` });
          this.died = true;
          for (const h of this.diedHandlers.splice(0)) h();
        }
        resolve();
      });
      child.once('error', (err) => {
        log.error('gofer failed to start', { id: containerId, error: err.message });
        this.exited = true;
        resolve();
      });
    });
  }

  /**
   * start opens a /dev/fuse for the root (for each of its image layers, given layers) and for
   * every served bind of mounts (which it marks fuse), starts the gofer on them, and returns it
   * with the fds for the sentry, the root's first. The caller sends those and then calls closeFds.
   */
  static async start(id: string, rootfs: string, mounts: SpecMount[], config: SandboxConfig, layers?: string[]): Promise<{ gofer: Gofer; fds: number[] }> {
    const served: { fd: number; path: string }[] = [];
    const rootPaths = layers ?? [rootfs];
    try {
      for (const p of rootPaths) served.push({ fd: fs.openSync(DEV_FUSE, 'r+'), path: p });
      for (const m of mounts) {
        if (!servedByGofer(m)) continue;
        m.fuse = true;
        served.push({ fd: fs.openSync(DEV_FUSE, 'r+'), path: m.source as string });
      }
    } catch (err) {
      for (const s of served) fs.closeSync(s.fd);
      throw new Error(`opening ${DEV_FUSE}: ${(err as Error).message}`);
    }
    const args = ['--id', id, '--mode', config.fileAccess === 'shared' ? 'shared' : 'exclusive'];
    // A FUSE root with kernel passthrough to files on containerd's overlayfs needs stack depth 2,
    // and a file system of depth 2 cannot be an overlay's lower layer: under an overlay, depth 1.
    // Image layers are plain directories, so their files still pass through; under the memory
    // overlay the gofer serves reads of the overlayfs-backed root itself.
    args.push('--passthrough-depth', config.overlay === 'none' ? '2' : '1');
    // Only the runtime config's debug (not containerd's log level): a debug gofer logs every
    // request and logs, instead of refusing, a system call outside its seccomp allow-list.
    if (config.debug) args.push('--debug');
    const ioUring = fuseOverIoUring();
    args.push('--io-uring', ioUring ? 'on' : 'off');
    // The root is this container's alone (exclusive unless file-access says shared); binds are
    // host directories that the host or other containers may change: short caches.
    // Image layers are shared with every container of the image: read-only even to the gofer.
    const rootFlag = layers ? '--serve-ro' : '--serve';
    served.forEach((s, i) => args.push(i < rootPaths.length ? rootFlag : '--serve-shared', `${3 + i}:${s.path}`));
    // The kernel detaches the mounts on a name the gofer asks it to drop (to keep its fds within
    // the limit): it never drops directories, and it is told which files are mount points.
    for (const m of mounts) if (m.destination && m.destination !== '/') args.push('--pin', m.destination);
    const fds = served.map((s) => s.fd);
    const logFd = getLogFd();
    const child = spawn(GOFER_BINARY, args, { stdio: ['ignore', logFd, logFd, ...fds] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (err) {
      Gofer.closeFds(fds);
      throw new Error(`${GOFER_BINARY}: ${(err as Error).message}`);
    }
    return { gofer: new Gofer(id, child, ioUring), fds };
  }

  /** closeFds closes the shim's copies of the /dev/fuse fds once the sentry has its own. */
  static closeFds(fds: number[]): void {
    for (const fd of fds) fs.closeSync(fd);
  }

  onDied(handler: () => void): void {
    if (this.died) handler();
    else this.diedHandlers.push(handler);
  }

  /** pid is the gofer's process id. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /**
   * stop waits for the gofer to end by itself (its file systems went with the container's mount
   * namespace), and kills it after a grace period or at once (now, when the container never ran).
   */
  async stop(now = false): Promise<void> {
    this.stopping = true;
    if (this.exited) return;
    if (!now) {
      const timer = new Promise<void>((resolve) => setTimeout(resolve, EXIT_GRACE_MS).unref());
      await Promise.race([this.done, timer]);
    }
    if (!this.exited) this.child.kill('SIGKILL');
    await this.done;
  }
}
