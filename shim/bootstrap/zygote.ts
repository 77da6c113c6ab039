// The warm shim ("zygote"): one idle Node process per containerd with the whole shim loaded.
// The native launcher hands it `start`, so start does not pay Node's start-up. On a start that
// needs a new sandbox it forks: the copy becomes that sandbox's serving shim and shares the
// zygote's memory copy-on-write (most of an idle shim is Node itself and our loaded code, the same
// in every copy). Without a zygote the launcher runs the shim cold.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { IdleReclaimer } from '../memory';
import { native } from '../native';
import { parseFlags, ShimFlags } from './flags';
import { serve } from './serve';
import { bindGroupSocket, canDial, SERVING_ENV, SERVING_NODE_FLAGS, SHIM_NAME } from './start';
import { ZYGOTE_SLOTS, zygotePath } from './zygote-path';

const LIVENESS_MS = 5000;
const MAX_REQUEST = 1 << 20;

/** ensureZygote starts a zygote in every slot of this containerd where none answers. */
export async function ensureZygote(flags: ShimFlags): Promise<void> {
  if (!flags.address) return;
  for (let slot = 0; slot < ZYGOTE_SLOTS; slot++) {
    if (await canDial(zygotePath(flags.address, slot))) continue;
    const env: NodeJS.ProcessEnv = { ...process.env, ...SERVING_ENV, RUNSC_TS_ZYGOTE_SLOT: String(slot) };
    delete env.RUNSC_TS_GROUP;
    const args = [...SERVING_NODE_FLAGS, path.join(__dirname, '..', 'main.js'), '-namespace', flags.namespace, '-address', flags.address];
    if (flags.publishBinary) args.push('-publish-binary', flags.publishBinary);
    args.push('zygote');
    const child = spawn(process.execPath, args, { argv0: SHIM_NAME, cwd: '/', detached: true, stdio: 'ignore', env });
    child.on('error', () => undefined);
    child.unref();
  }
}

interface Request {
  cwd: string;
  argv: string[];
}

function block(b: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function result(stdout: Uint8Array | string, stderr: string, code: number): Buffer {
  return Buffer.concat([Buffer.from('R'), block(Buffer.from(stdout)), block(Buffer.from(stderr)), Buffer.from([code])]);
}

/** readRequest reads one length-prefixed JSON request from a launcher connection. */
function readRequest(c: net.Socket): Promise<Request> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const n = buf.readUInt32BE(0);
      if (n > MAX_REQUEST) return reject(new Error('request too large'));
      if (buf.length < 4 + n) return;
      c.removeAllListeners('data');
      try {
        resolve(JSON.parse(buf.subarray(4, 4 + n).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    });
    c.once('error', reject);
    c.once('end', () => reject(new Error('launcher went away')));
  });
}

/** listenOn listens on sock through an fd of our own, so no forked copy's close unlinks it. */
function listenOn(listener: net.Server, sock: string): Promise<void> {
  const fd = native.listenUnix(sock);
  return new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ fd }, () => resolve());
  });
}

/**
 * becomeCopy turns a freshly forked copy of the zygote into a process of its own: its real pid,
 * none of the zygote's listeners, and an exit that does not wait for the threads it lacks.
 */
function becomeCopy(pid: number, listener: net.Server, quit: () => void, liveness: NodeJS.Timeout): void {
  Object.defineProperty(process, 'pid', { value: pid, configurable: true, enumerable: true, writable: false });
  clearInterval(liveness);
  process.removeListener('SIGTERM', quit);
  process.removeListener('SIGINT', quit);
  listener.close(); // our copy of the zygote's socket; the zygote keeps listening on its own
  const exit = (code?: number | string | null): never => {
    const c = Number(code ?? process.exitCode ?? 0) || 0;
    try {
      process.emit('exit', c);
    } catch {
      // an exit handler's error must not keep the copy alive
    }
    return native.exitNow(c);
  };
  process.exit = exit as typeof process.exit;
  process.on('beforeExit', (code) => exit(code));
}

/**
 * runZygote waits for launcher requests until containerd goes away. A start that needs a new
 * sandbox forks the zygote: the copy becomes that sandbox's shim, sharing the zygote's memory
 * copy-on-write, and the zygote stays warm for the next start.
 */
export async function runZygote(flags: ShimFlags): Promise<void> {
  const slot = Number(process.env.RUNSC_TS_ZYGOTE_SLOT) || 0;
  delete process.env.RUNSC_TS_ZYGOTE_SLOT;
  const sock = zygotePath(flags.address, slot);
  const listener = net.createServer();
  try {
    await listenOn(listener, sock);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || (await canDial(sock))) process.exit(0); // another zygote serves
    fs.rmSync(sock, { force: true });
    await listenOn(listener, sock);
  }
  fs.chmodSync(sock, 0o600);
  const quit = (): void => {
    fs.rmSync(sock, { force: true });
    process.exit(0);
  };
  // containerd gone (its socket removed): nobody will ask any more.
  const liveness = setInterval(() => {
    if (!fs.existsSync(flags.address)) quit();
  }, LIVENESS_MS);
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  // A zygote waits, possibly for hours, and every copy starts from its pages: give back what
  // loading the shim left behind, once. Not after forks: a compacting GC here would rewrite pages
  // the copies share with us, making them private to each copy.
  new IdleReclaimer().touch();

  listener.on('connection', (c) => {
    void (async () => {
      let req: Request;
      try {
        req = await readRequest(c);
      } catch {
        c.destroy();
        return;
      }
      const f = parseFlags(req.argv);
      if (f.address !== flags.address || f.action !== 'start') {
        c.end('F'); // not for us: the launcher runs the shim cold
        return;
      }
      let copy;
      try {
        copy = native.forkShim();
      } catch {
        c.end('F'); // cannot fork now: the launcher runs the shim cold
        return;
      }
      if (!copy.child) {
        c.destroy(); // our end only: the copy answers on its own
        return;
      }
      becomeCopy(copy.pid, listener, quit, liveness);
      await adopt(f, req.cwd, c);
    })();
  });
}

/** adopt runs in a forked copy: it binds the sandbox's socket and serves it, or joins the shim serving it. */
async function adopt(f: ShimFlags, bundle: string, c: net.Socket): Promise<void> {
  let g;
  try {
    g = await bindGroupSocket(f, bundle);
  } catch (err) {
    c.end(result('', `${(err as Error).message}\n`, 1), () => process.exit(0));
    return;
  }
  if (!g.server) {
    c.end(result(g.address, '', 0), () => process.exit(0)); // another shim serves the sandbox
    return;
  }
  c.end(result(g.address, '', 0));
  process.chdir(bundle);
  // From here on this process is that sandbox's shim, and ps should say so.
  process.title = `${SHIM_NAME} -namespace ${f.namespace} -id ${f.id} -address ${f.address}`;
  await serve(f, g.server, g.group);
}
