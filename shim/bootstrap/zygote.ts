// The warm shim ("zygote"): one idle Node process per containerd with the whole shim loaded.
// The native launcher hands it `start`, so start does not pay Node's start-up. On a start that
// needs a new sandbox it becomes that sandbox's serving shim itself and at once starts the next
// zygote. Without a zygote the launcher runs the shim cold.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
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

/** runZygote waits for launcher requests until it adopts a sandbox or containerd goes away. */
export async function runZygote(flags: ShimFlags): Promise<void> {
  const slot = Number(process.env.RUNSC_TS_ZYGOTE_SLOT) || 0;
  delete process.env.RUNSC_TS_ZYGOTE_SLOT;
  const sock = zygotePath(flags.address, slot);
  const listener = net.createServer();
  let adopted = false;
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(sock, () => resolve());
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || (await canDial(sock))) process.exit(0); // another zygote serves
    fs.rmSync(sock, { force: true });
    await new Promise<void>((resolve) => listener.listen(sock, () => resolve()));
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
      if (adopted || f.address !== flags.address || f.action !== 'start') {
        c.end('F'); // not for us: the launcher runs the shim cold
        return;
      }
      adopted = true; // the next start must not adopt too: it gets 'F' and runs cold
      let g;
      try {
        g = await bindGroupSocket(f, req.cwd);
      } catch (err) {
        adopted = false;
        c.end(result('', `${(err as Error).message}\n`, 1));
        return;
      }
      if (!g.server) {
        adopted = false; // joined a serving shim: stay a zygote
        c.end(result(g.address, '', 0));
        return;
      }
      clearInterval(liveness);
      process.removeListener('SIGTERM', quit);
      process.removeListener('SIGINT', quit);
      listener.close();
      c.end(result(g.address, '', 0));
      process.chdir(req.cwd);
      // From here on this process is that sandbox's shim, and ps should say so.
      process.title = `${SHIM_NAME} -namespace ${f.namespace} -id ${f.id} -address ${f.address}`;
      await serve(f, g.server, g.group);
      await ensureZygote(f); // the next start finds a warm shim again
    })();
  });
}
