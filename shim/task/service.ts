// The Task service (containerd.task.v2.Task) for one sandbox. Every method has the same shape:
// find the container or process, check the state, delegate to the sentry, publish the event.
// Errors become ttrpc statuses in one place (handlers()).
import * as fs from 'fs';
import * as path from 'path';
import { containerd, google, io, runsc_ts } from '../gen/protos';
import { loadConfig, SandboxConfig } from '../config';
import { alreadyExists, errnoMessage, failedPrecondition, invalidArgument, notFound, toTtrpcError, unimplemented, wrap } from '../errors';
import { Publisher, timestamp } from '../events';
import { FileServer, Gofer, StartGofer } from '../gofer';
import { isDebug, log, setDebug, setLogFormat } from '../log';
import { mountRootfs, snapshotLayers, unmountAll } from '../rootfs';
import type { ExitInfo, SandboxControl } from '../sentry';
import { cgroupPath, convertProcess, convertSpec } from '../spec/convert';
import type { OciProcess, OciSpec } from '../spec/oci';
import type { CallContext } from '../ttrpc';
import { Container } from './container';
import { checkState, Process } from './process';
import { applyResources, OciResources, removeCgroup } from './resources';
import { readMetrics } from './stats';
import { closeKeeper, closeStdio, openStdio, OpenStdio } from './stdio';

const T = containerd.task.v2;
const Status = containerd.v1.types.Status;

/** ZERO_TIME is Go's zero time.Time, how containerd 1.6 encodes "not set". */
const ZERO_TIME: google.protobuf.ITimestamp = { seconds: -62135596800, nanos: 0 };

const ID_RE = /^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$/;
const INIT_PID_FILE = 'init.pid';
const CGROUP_FILE = 'cgroup';

/** ServiceOptions wires the service to the rest of the shim. */
export interface ServiceOptions {
  namespace: string;
  publisher: Publisher;
  /** sentry returns the sandbox's sentry, starting it with config on first use. */
  sentry: (config?: SandboxConfig) => SandboxControl;
  /** onEmpty is called when Shutdown finds no container left: the shim may exit. */
  onEmpty: () => void;
  /** startGofer starts a container's gofer (file-access exclusive or shared); default Gofer.start. */
  startGofer?: StartGofer;
}

type Method = (payload: Buffer, ctx: CallContext) => Promise<Uint8Array>;

/** withStdio tells the sentry which stdio fds come with the request and whether to make a terminal. */
function withStdio(proc: runsc_ts.sentry.v1.IProcess, open: OpenStdio, terminal: boolean): runsc_ts.sentry.v1.IProcess {
  return { ...proc, stdio: { ...proc.stdio, terminal, hasStdin: open.hasStdin, hasStdout: open.hasStdout, hasStderr: open.hasStderr } };
}

interface Codec<T> {
  decode(b: Uint8Array): T;
}
interface Enc<T> {
  encode(m: T): { finish(): Uint8Array };
}

/** TaskService holds the sandbox's containers and serves containerd's Task API for them. */
export class TaskService {
  private readonly containers = new Map<string, Container>();
  private sandboxGone: string | undefined;
  /** config is the sandbox's configuration, decided by its first container's runtime options. */
  private config: SandboxConfig | undefined;

  constructor(private readonly opts: ServiceOptions) {}

  /** handlers maps each Task method to a ttrpc handler; the one place errors become statuses. */
  handlers(): Record<string, Method> {
    const h = <Req, Res>(req: Codec<Req>, res: Enc<Res>, fn: (r: Req) => Promise<Res>): Method => {
      return async (payload) => {
        try {
          return res.encode(await fn(req.decode(payload))).finish();
        } catch (err) {
          throw toTtrpcError(err);
        }
      };
    };
    const empty = google.protobuf.Empty;
    return {
      Create: h(T.CreateTaskRequest, T.CreateTaskResponse, (r) => this.create(r)),
      Start: h(T.StartRequest, T.StartResponse, (r) => this.start(r)),
      Delete: h(T.DeleteRequest, T.DeleteResponse, (r) => this.delete(r)),
      State: h(T.StateRequest, T.StateResponse, (r) => this.state(r)),
      Pids: h(T.PidsRequest, T.PidsResponse, (r) => this.pids(r)),
      Kill: h(T.KillRequest, empty, (r) => this.kill(r)),
      Exec: h(T.ExecProcessRequest, empty, (r) => this.exec(r)),
      ResizePty: h(T.ResizePtyRequest, empty, (r) => this.resizePty(r)),
      CloseIO: h(T.CloseIORequest, empty, (r) => this.closeIO(r)),
      Wait: h(T.WaitRequest, T.WaitResponse, (r) => this.wait(r)),
      Connect: h(T.ConnectRequest, T.ConnectResponse, (r) => this.connect(r)),
      Shutdown: h(T.ShutdownRequest, empty, (r) => this.shutdown(r)),
      Pause: h(T.PauseRequest, empty, (r) => this.pause(r)),
      Resume: h(T.ResumeRequest, empty, (r) => this.resume(r)),
      Checkpoint: h(T.CheckpointTaskRequest, empty, async (r) => this.unsupported('checkpoint', r.id)),
      Update: h(T.UpdateTaskRequest, empty, (r) => this.update(r)),
      Stats: h(T.StatsRequest, T.StatsResponse, (r) => this.stats(r)),
    };
  }

  /** containerCount is how many containers the shim still holds. */
  get containerCount(): number {
    return this.containers.size;
  }

  private unsupported(op: string, id: string): never {
    throw unimplemented(`${op} of container ${id}: not supported by runsc-ts yet`);
  }

  private container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id}: container not created`);
    return c;
  }

  private async create(r: containerd.task.v2.CreateTaskRequest): Promise<containerd.task.v2.ICreateTaskResponse> {
    const where = `creating container ${r.id}`;
    if (!ID_RE.test(r.id) || r.id.length > 76) throw invalidArgument(`${where}: invalid container id`);
    if (this.containers.has(r.id)) throw alreadyExists(`${where}: container ${r.id} already exists`);
    if (this.sandboxGone) throw failedPrecondition(`${where}: sandbox is gone: ${this.sandboxGone}`);
    if (r.checkpoint) throw unimplemented(`${where}: checkpoint/restore is not supported`);
    const bundle = r.bundle || process.cwd();
    let spec: OciSpec;
    try {
      spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    } catch (err) {
      throw invalidArgument(`${where}: reading ${path.join(bundle, 'config.json')}: ${errnoMessage(err)}`);
    }
    if (!spec.root?.path) throw invalidArgument(`${where}: spec has no root.path`);
    const rootfs = path.resolve(bundle, spec.root.path);
    const cgroup = cgroupPath(spec);
    const paths = { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal };
    // Validate what needs no side effects first, so bad input leaves nothing to undo.
    const init = new Process(r.id, r.id, '', paths);
    const processSpec = convertProcess(spec.process, {}, where);
    const config = this.config ?? loadConfig(r.options);
    const mounted = r.rootfs.length > 0;
    // overlay = snapshot: nothing is mounted on the host. The gofer serves each image layer
    // directory and the sandbox mounts the overlay of them under the snapshot's writable layer
    // (which must not be in two mounts: overlayfs forbids).
    const wantsSnapshot = config.fileAccess !== 'direct' && config.overlay === 'snapshot';
    const layers = wantsSnapshot ? snapshotLayers(r.rootfs) : undefined;
    if (wantsSnapshot && !layers && mounted) {
      log.info('the rootfs is not a writable overlay snapshot: the gofer serves all of it', { id: r.id, types: r.rootfs.map((m) => m.type).join(',') });
    }
    const hostMounted = mounted && !layers;
    if (hostMounted) mountRootfs(r.rootfs, rootfs, where);
    let stdio: OpenStdio | undefined;
    let gofer: FileServer | undefined;
    try {
      if (!fs.existsSync(rootfs)) throw invalidArgument(`${where}: rootfs "${rootfs}": no such file or directory`);
      const containerSpec = convertSpec(spec, rootfs, where, config.network, config);
      stdio = openStdio(paths, where);
      let fuseFds: number[] = [];
      if (config.fileAccess !== 'direct') {
        try {
          // The overlay the root really gets (the gofer serves an overlay's lower layer differently).
          const overlay = layers ? 'snapshot' : config.overlay === 'memory' ? 'memory' : 'none';
          ({ gofer, fds: fuseFds } = await (this.opts.startGofer ?? Gofer.start)(r.id, rootfs, containerSpec.mounts ?? [], { ...config, overlay }, layers?.lowers));
        } catch (err) {
          throw failedPrecondition(`${where}: starting the gofer: ${(err as Error).message}`);
        }
        containerSpec.rootFuse = true;
        containerSpec.overlaySize = config.overlay === 'memory' ? config.overlaySize : 0;
        if (layers) {
          containerSpec.rootOverlay = { upperdir: layers.upperdir, workdir: layers.workdir, options: layers.options.join(','), lowerLayers: layers.lowers.length };
        }
      }
      if (!this.config) {
        this.config = config;
        setDebug(config.debug || isDebug());
        setLogFormat(config.logFormat);
      }
      const sentry = this.opts.sentry(config);
      let res;
      const creating = sentry.createContainer({ containerId: r.id, spec: containerSpec, process: withStdio(processSpec, stdio, r.terminal) }, [...stdio.fds, ...fuseFds]);
      // The request went out with the call: the sentry has its copies, and a GoferDied sent from
      // now on reaches it after the container (even one that dies during the set-up).
      Gofer.closeFds(fuseFds);
      const served = gofer;
      served?.onDied(() => {
        if (!this.sandboxGone) sentry.goferDied(r.id, served.ioUring).catch((err) => log.warn('telling the sentry the gofer died', { id: r.id, error: (err as Error).message }));
      });
      try {
        res = await creating;
      } catch (err) {
        throw wrap(err, where);
      } finally {
        closeStdio(stdio);
      }
      init.pid = res.pid ?? 0;
      init.stdio = stdio;
      // The init waits for Start, so its limits hold before any of its code runs.
      try {
        applyResources(cgroup, spec.linux?.resources as OciResources | undefined, where);
      } catch (err) {
        await sentry.destroyContainer(r.id).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      if (stdio) closeKeeper(stdio);
      await gofer?.stop(true);
      if (hostMounted) unmountAll(rootfs);
      for (const e of await removeCgroup(cgroup)) log.warn('removing cgroup', { id: r.id, error: e });
      throw err;
    }
    const c = new Container(r.id, bundle, spec, rootfs, hostMounted, cgroup, init, gofer);
    this.containers.set(r.id, c);
    fs.writeFileSync(path.join(bundle, INIT_PID_FILE), String(init.pid));
    // For the launcher's `delete` after a crash: which cgroup directories to remove.
    if (cgroup) fs.writeFileSync(path.join(bundle, CGROUP_FILE), cgroup);
    this.watch(c, init);
    this.opts.publisher.publish({
      topic: '/tasks/create',
      type: 'TaskCreate',
      msg: {
        containerId: r.id,
        bundle,
        rootfs: r.rootfs,
        io: { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal },
        checkpoint: r.checkpoint,
        pid: init.pid,
      },
    });
    log.info('container created', { id: r.id, pid: init.pid });
    return { pid: init.pid };
  }

  private async start(r: containerd.task.v2.StartRequest): Promise<containerd.task.v2.IStartResponse> {
    const c = this.container(r.id);
    const p = c.process(r.execId);
    checkState(p.state, 'start');
    if (p.starting) throw failedPrecondition(`cannot start process in starting state`);
    p.starting = true;
    try {
      if (p.isInit) {
        try {
          await this.opts.sentry().startContainer(c.id);
        } catch (err) {
          throw wrap(err, `starting container ${c.id}`);
        }
        p.state = 'running';
        this.opts.publisher.publish({ topic: '/tasks/start', type: 'TaskStart', msg: { containerId: c.id, pid: p.pid } });
      } else {
        await this.startExec(c, p);
      }
    } finally {
      p.starting = false;
    }
    // An exit that raced with Start is applied now, after the start event went out.
    const held = p.heldExit;
    if (held) {
      p.heldExit = undefined;
      this.onExit(c, p, held);
    }
    return { pid: p.pid };
  }

  private async startExec(c: Container, p: Process): Promise<void> {
    const where = `starting exec ${p.execId} in container ${c.id}`;
    if (c.paused) throw failedPrecondition(`${where}: cannot start an exec in a paused container`);
    const stdio = openStdio(p.paths, where);
    let res;
    try {
      res = await this.opts.sentry().exec({ containerId: c.id, execId: p.execId, process: withStdio(p.execProcess ?? {}, stdio, p.paths.terminal) }, stdio.fds);
    } catch (err) {
      closeKeeper(stdio);
      throw wrap(err, where);
    } finally {
      closeStdio(stdio);
    }
    p.pid = res.pid ?? 0;
    p.stdio = stdio;
    p.state = 'running';
    this.watch(c, p);
    this.opts.publisher.publish({
      topic: '/tasks/exec-started',
      type: 'TaskExecStarted',
      msg: { containerId: c.id, execId: p.execId, pid: p.pid },
    });
  }

  /** watch asks the sentry for the process's exit; a lost sentry counts as SIGKILL. */
  private watch(c: Container, p: Process): void {
    this.opts
      .sentry()
      .wait(c.id, p.pid)
      .then(
        (exit) => this.onExit(c, p, exit),
        (err) => {
          log.warn('waiting for process failed', { id: c.id, exec: p.execId, error: (err as Error).message });
          this.onExit(c, p, { exitStatus: 137, exitedAt: new Date() });
        },
      );
  }

  /**
   * onExit publishes a process's exit in the order containerd requires. An exit is held while
   * that process's Start is in flight (its start event must go first). The init's exit is the
   * last exit of its container: while execs are still alive (the kernel is killing them, since
   * PID 1 of their namespace is gone) it waits, and the last exec exit releases it.
   */
  private onExit(c: Container, p: Process, exit: ExitInfo): void {
    if (p.state === 'stopped' || p.state === 'deleted') return;
    if (p.starting) {
      p.heldExit = exit;
      return;
    }
    if (p.isInit && c.liveExecs().length > 0) {
      c.heldInitExit = exit;
      void this.opts
        .sentry()
        .signal(c.id, 0, 9, true)
        .catch(() => undefined);
      return;
    }
    this.publishExit(c, p, exit);
    if (!p.isInit && c.heldInitExit && c.liveExecs().length === 0) {
      const held = c.heldInitExit;
      c.heldInitExit = undefined;
      this.publishExit(c, c.init, held);
    }
  }

  private publishExit(c: Container, p: Process, exit: ExitInfo): void {
    if (p.isInit) c.paused = false;
    if (p.stdio) closeKeeper(p.stdio);
    p.setExited(exit.exitStatus, exit.exitedAt);
    this.opts.publisher.publish({
      topic: '/tasks/exit',
      type: 'TaskExit',
      msg: { containerId: c.id, id: p.id, pid: p.pid, exitStatus: exit.exitStatus, exitedAt: timestamp(exit.exitedAt) },
    });
    log.info('process exited', { id: c.id, exec: p.execId, pid: p.pid, status: exit.exitStatus });
  }

  private async delete(r: containerd.task.v2.DeleteRequest): Promise<containerd.task.v2.IDeleteResponse> {
    const c = this.container(r.id);
    const p = c.process(r.execId);
    checkState(p.state, 'delete');
    const exitedAt = p.exitedAt ? timestamp(p.exitedAt) : ZERO_TIME;
    if (!p.isInit) {
      c.execs.delete(p.execId);
      p.state = 'deleted';
      return { pid: p.pid, exitStatus: p.exitStatus, exitedAt };
    }
    if (c.execs.size > 0 && [...c.execs.values()].some((e) => e.state === 'running')) {
      throw failedPrecondition(`deleting container ${c.id}: exec processes are still running`);
    }
    if (p.state === 'created') p.state = 'deleted'; // its kill by DestroyContainer is no exit to publish
    if (!this.sandboxGone) {
      try {
        await this.opts.sentry().destroyContainer(c.id);
      } catch (err) {
        log.warn('destroying container in the sentry', { id: c.id, error: (err as Error).message });
      }
    }
    if (p.stdio) closeKeeper(p.stdio);
    await c.gofer?.stop(); // before the unmount: it serves the rootfs
    if (c.rootfsMounted) unmountAll(c.rootfs);
    for (const e of await removeCgroup(c.cgroup)) log.warn('removing cgroup', { id: c.id, error: e });
    fs.rmSync(path.join(c.bundle, INIT_PID_FILE), { force: true });
    fs.rmSync(path.join(c.bundle, CGROUP_FILE), { force: true });
    p.state = 'deleted';
    this.containers.delete(c.id);
    this.opts.publisher.publish({
      topic: '/tasks/delete',
      type: 'TaskDelete',
      msg: { containerId: c.id, pid: p.pid, exitStatus: p.exitStatus, exitedAt, id: '' },
    });
    log.info('container deleted', { id: c.id });
    return { pid: p.pid, exitStatus: p.exitStatus, exitedAt };
  }

  private async state(r: containerd.task.v2.StateRequest): Promise<containerd.task.v2.IStateResponse> {
    const c = this.container(r.id);
    const p = c.process(r.execId);
    const status =
      p.state === 'running' && c.paused
        ? Status.PAUSED
        : { created: Status.CREATED, running: Status.RUNNING, stopped: Status.STOPPED, deleted: Status.STOPPED }[p.state];
    return {
      id: p.id,
      bundle: c.bundle,
      pid: p.pid,
      status,
      stdin: p.paths.stdin,
      stdout: p.paths.stdout,
      stderr: p.paths.stderr,
      terminal: p.paths.terminal,
      exitStatus: p.exitStatus,
      exitedAt: p.exitedAt ? timestamp(p.exitedAt) : ZERO_TIME,
    };
  }

  private async pids(r: containerd.task.v2.PidsRequest): Promise<containerd.task.v2.IPidsResponse> {
    const c = this.container(r.id);
    const list = await this.opts.sentry().processes(c.id);
    return {
      processes: list.map((p) => ({
        pid: p.pid ?? 0,
        info: p.execId
          ? { typeUrl: 'containerd.runc.v1.ProcessDetails', value: containerd.runc.v1.ProcessDetails.encode({ execId: p.execId }).finish() }
          : null,
      })),
    };
  }

  private async kill(r: containerd.task.v2.KillRequest): Promise<google.protobuf.IEmpty> {
    const c = this.container(r.id);
    const p = c.process(r.execId);
    if (p.state === 'stopped' || p.state === 'deleted') throw notFound(`killing ${p.id}: process already finished`);
    if (p.pid === 0) throw notFound(`killing ${p.id}: process not started`);
    const all = r.all && p.isInit;
    try {
      await this.opts.sentry().signal(c.id, p.pid, r.signal || 15, all);
    } catch (err) {
      throw wrap(err, `killing ${p.id}`);
    }
    return {};
  }

  private async exec(r: containerd.task.v2.ExecProcessRequest): Promise<google.protobuf.IEmpty> {
    const c = this.container(r.id);
    const where = `exec ${r.execId} in container ${r.id}`;
    if (!ID_RE.test(r.execId)) throw invalidArgument(`${where}: invalid exec id`);
    if (c.execs.has(r.execId)) throw alreadyExists(`${where}: id ${r.execId}: already exists`);
    if (c.init.state !== 'running') throw failedPrecondition(`${where}: cannot exec in a ${c.init.state} container`);
    if (c.paused) throw failedPrecondition(`${where}: cannot exec in a paused container`);
    let spec: OciProcess;
    try {
      spec = JSON.parse(Buffer.from(r.spec?.value ?? []).toString('utf8'));
    } catch (err) {
      throw invalidArgument(`${where}: parsing process spec: ${(err as Error).message}`);
    }
    const execProcess = convertProcess(spec, {}, where); // now, so a bad spec fails Exec rather than Start
    const p = new Process(c.id, r.execId, r.execId, { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal });
    p.execProcess = execProcess;
    c.execs.set(r.execId, p);
    this.opts.publisher.publish({ topic: '/tasks/exec-added', type: 'TaskExecAdded', msg: { containerId: c.id, execId: r.execId } });
    return {};
  }

  private async resizePty(r: containerd.task.v2.ResizePtyRequest): Promise<google.protobuf.IEmpty> {
    const c = this.container(r.id);
    const p = c.process(r.execId);
    if (!p.paths.terminal || p.state !== 'running') return {};
    await this.opts.sentry().resizePty(c.id, p.pid, r.width, r.height);
    return {};
  }

  private async closeIO(r: containerd.task.v2.CloseIORequest): Promise<google.protobuf.IEmpty> {
    const c = this.container(r.id);
    const p = c.process(r.execId);
    if (!r.stdin) return {};
    if (p.paths.terminal && p.state === 'running') await this.opts.sentry().closeStdin(c.id, p.pid);
    if (p.stdio) closeKeeper(p.stdio);
    return {};
  }

  private async pause(r: containerd.task.v2.PauseRequest): Promise<google.protobuf.IEmpty> {
    const c = this.container(r.id);
    if (c.init.state !== 'running') throw failedPrecondition(`pausing container ${c.id}: cannot pause a ${c.init.state} container`);
    if (c.paused) return {};
    await this.opts.sentry().pause(c.id);
    c.paused = true;
    this.opts.publisher.publish({ topic: '/tasks/paused', type: 'TaskPaused', msg: { containerId: c.id } });
    return {};
  }

  private async resume(r: containerd.task.v2.ResumeRequest): Promise<google.protobuf.IEmpty> {
    const c = this.container(r.id);
    if (!c.paused) return {};
    await this.opts.sentry().resume(c.id);
    c.paused = false;
    this.opts.publisher.publish({ topic: '/tasks/resumed', type: 'TaskResumed', msg: { containerId: c.id } });
    return {};
  }

  private async update(r: containerd.task.v2.UpdateTaskRequest): Promise<google.protobuf.IEmpty> {
    const c = this.container(r.id);
    const where = `updating container ${c.id}`;
    if (!c.cgroup) throw failedPrecondition(`${where}: the container has no cgroup`);
    let resources: OciResources;
    try {
      resources = JSON.parse(Buffer.from(r.resources?.value ?? []).toString('utf8'));
    } catch (err) {
      throw invalidArgument(`${where}: parsing resources: ${(err as Error).message}`);
    }
    applyResources(c.cgroup, resources, where);
    return {};
  }

  private async stats(r: containerd.task.v2.StatsRequest): Promise<containerd.task.v2.IStatsResponse> {
    const c = this.container(r.id);
    if (!c.cgroup) throw notFound(`stats of container ${c.id}: the container has no cgroup`);
    const metrics = readMetrics(c.cgroup);
    return { stats: { typeUrl: 'io.containerd.cgroups.v1.Metrics', value: io.containerd.cgroups.v1.Metrics.encode(metrics).finish() } };
  }

  private async wait(r: containerd.task.v2.WaitRequest): Promise<containerd.task.v2.IWaitResponse> {
    const p = this.container(r.id).process(r.execId);
    await p.waitExit();
    return { exitStatus: p.exitStatus, exitedAt: p.exitedAt ? timestamp(p.exitedAt) : ZERO_TIME };
  }

  private async connect(r: containerd.task.v2.ConnectRequest): Promise<containerd.task.v2.IConnectResponse> {
    return { shimPid: process.pid, taskPid: this.containers.get(r.id)?.init.pid ?? 0, version: '' };
  }

  private async shutdown(_r: containerd.task.v2.ShutdownRequest): Promise<google.protobuf.IEmpty> {
    if (this.containers.size === 0) setImmediate(() => this.opts.onEmpty());
    return {};
  }

  /** sandboxLost marks every process exited (SIGKILL) when the sentry is gone. */
  sandboxLost(why: string): void {
    if (this.sandboxGone) return;
    this.sandboxGone = why;
    log.error('sandbox lost', { reason: why });
    const now = new Date();
    for (const c of this.containers.values()) {
      for (const e of c.execs.values()) if (e.state === 'running' || e.starting) this.onExit(c, e, { exitStatus: 137, exitedAt: now });
      if (c.init.state === 'running' || c.init.state === 'created') this.onExit(c, c.init, { exitStatus: 137, exitedAt: now });
    }
  }
}
