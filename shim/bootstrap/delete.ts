// The `delete` action: containerd runs it after a task's connection closes, shim alive or not.
// With the shim gone it cleans up what the shim would have: the rootfs mount and the socket.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { containerd } from '../gen/protos';
import { timestamp } from '../events';
import { unmountAll } from '../rootfs';
import type { ShimFlags } from './flags';

function dial(sock: string): Promise<boolean> {
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

/** deleteAction cleans up after a task and returns the DeleteResponse bytes for stdout. */
export async function deleteAction(flags: ShimFlags): Promise<Uint8Array> {
  const bundle = flags.bundle || process.cwd();
  let pid = 0;
  try {
    pid = Number(fs.readFileSync(path.join(bundle, 'init.pid'), 'utf8')) || 0;
  } catch {
    // Never created, or deleted cleanly.
  }
  let address = '';
  try {
    address = fs.readFileSync(path.join(bundle, 'address'), 'utf8').trim();
  } catch {
    // start never got as far as writing it.
  }
  const sock = address.replace(/^unix:\/\//, '');
  const alive = sock !== '' && (await dial(sock));
  if (!alive) {
    // The shim is dead: its sentry died with it (PDEATHSIG) and took every container process
    // along (PTRACE_O_EXITKILL). What is left on the host is the rootfs mount and the socket.
    unmountAll(path.join(bundle, 'rootfs'));
    if (sock) fs.rmSync(sock, { force: true });
  }
  // A live shim still serves other containers of its sandbox and cleans up after its own Delete.
  return containerd.task.v2.DeleteResponse.encode({
    pid,
    exitStatus: 137,
    exitedAt: timestamp(new Date()),
  }).finish();
}
