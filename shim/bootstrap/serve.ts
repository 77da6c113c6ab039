// The serving shim: takes the listening socket from `start` (fd 3), serves the Task API for every
// container of its sandbox, owns the sentry, and exits when containerd shuts the last task down.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { TtrpcPublisher } from '../events';
import { log, setDebug, setLogFd } from '../log';
import { IdleReclaimer } from '../memory';
import { native } from '../native';
import { Sentry } from '../sentry';
import { TaskService } from '../task/service';
import { Server } from '../ttrpc';
import type { ShimFlags } from './flags';
import { groupId, socketPath } from './start';
import { ensureZygote } from './zygote';

const LISTEN_FD = 3;
const ZYGOTE_DELAY_MS = 1000;

function openShimLog(bundle: string): void {
  try {
    setLogFd(fs.openSync(path.join(bundle, 'log'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch {
    // No log FIFO (started by hand): keep stderr.
  }
}

/**
 * serve runs the shim server until the sandbox is empty and containerd calls Shutdown. The
 * listening socket is fd 3 (from a cold `start`) or, in an adopting zygote, listener.
 */
export async function serve(flags: ShimFlags, listener?: net.Server, groupName?: string): Promise<void> {
  const bundle = process.cwd();
  openShimLog(bundle);
  fs.writeFileSync(path.join(bundle, 'shim.pid'), String(process.pid));
  setDebug(flags.debug);
  native.setChildSubreaper();
  const group = groupName || process.env.RUNSC_TS_GROUP || groupId(flags.id, undefined);
  delete process.env.RUNSC_TS_GROUP;
  const sock = socketPath(flags.address, flags.namespace, group);
  const ttrpcAddress = (process.env.TTRPC_ADDRESS || `${flags.address}.ttrpc`).replace(/^unix:\/\//, '');
  const publisher = new TtrpcPublisher(ttrpcAddress, flags.namespace);

  let sentry: Sentry | undefined;
  let exiting = false;
  const server = new Server();

  const exit = async (code: number): Promise<void> => {
    if (exiting) return;
    exiting = true;
    log.info('shim exiting', { group });
    await publisher.drain(5000);
    if (sentry) await sentry.shutdown();
    fs.rmSync(sock, { force: true });
    await ensureZygote(flags).catch(() => undefined); // the next start finds a warm shim
    publisher.close();
    await server.close().catch(() => undefined);
    process.exit(code);
  };

  const service: TaskService = new TaskService({
    namespace: flags.namespace,
    publisher,
    sentry: (config) => {
      if (!sentry) {
        sentry = Sentry.spawn(group, config);
        sentry.onExit((why) => service.sandboxLost(why));
        log.info('sentry started', { pid: sentry.pid, sandbox: group });
      }
      return sentry;
    },
    onEmpty: () => void exit(0),
  });
  const reclaimer = new IdleReclaimer();
  const handlers = reclaimer.track(service.handlers());
  server.register('containerd.task.v2.Task', handlers);
  server.register('containerd.task.v3.Task', handlers);

  process.on('SIGPIPE', () => undefined);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      log.warn('shim signalled', { signal: sig });
      void exit(0);
    });
  }
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception', { error: err.stack ?? String(err) });
    sentry?.kill();
    fs.rmSync(sock, { force: true });
    process.exit(1);
  });

  if (!listener) {
    listener = net.createServer();
    listener.listen({ fd: LISTEN_FD });
  }
  server.serve(listener);
  reclaimer.touch();
  log.info('shim serving', { address: `unix://${sock}`, group, id: flags.id, pid: process.pid });
  // Once this shim is up, make sure a warm shim waits for the next start (off the critical path).
  setTimeout(() => void ensureZygote(flags).catch((err) => log.warn('starting the warm shim', { error: err.message })), ZYGOTE_DELAY_MS).unref();
}
