// The shim's side of the sentry: spawns runsc-ts-sentry with a control socketpair and calls its
// control API (protos/sentry/control.proto) over ttrpc framing, passing stdio fds as SCM_RIGHTS.
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { runsc_ts, google } from './gen/protos';
import { DEFAULT_CONFIG, SandboxConfig } from './config';
import { log, getLogFd, isDebug } from './log';
import { native } from './native';
import { Client } from './ttrpc';

const pb = runsc_ts.sentry.v1;
const SERVICE = 'runsc_ts.sentry.v1.Sentry';

/** SENTRY_BINARY is where the sentry executable sits next to the compiled shim (override: RUNSC_TS_SENTRY). */
export const SENTRY_BINARY = process.env.RUNSC_TS_SENTRY || path.resolve(__dirname, '..', '..', 'Release', 'runsc-ts-sentry');

/** ExitInfo is how and when a process ended. */
export interface ExitInfo {
  exitStatus: number;
  exitedAt: Date;
}

function toDate(ts: google.protobuf.ITimestamp | null | undefined): Date {
  if (!ts) return new Date();
  return new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

/** SandboxControl is what the Task service needs of a sandbox; Sentry is the real one. */
export interface SandboxControl {
  createContainer(req: runsc_ts.sentry.v1.ICreateContainerRequest, fds: number[]): Promise<runsc_ts.sentry.v1.ICreateContainerResponse>;
  startContainer(containerId: string): Promise<void>;
  exec(req: runsc_ts.sentry.v1.IExecRequest, fds: number[]): Promise<runsc_ts.sentry.v1.IExecResponse>;
  signal(containerId: string, pid: number, signal: number, all: boolean): Promise<void>;
  wait(containerId: string, pid: number): Promise<ExitInfo>;
  processes(containerId: string): Promise<runsc_ts.sentry.v1.IProcessInfo[]>;
  resizePty(containerId: string, pid: number, width: number, height: number): Promise<void>;
  closeStdin(containerId: string, pid: number): Promise<void>;
  destroyContainer(containerId: string): Promise<void>;
  goferDied(containerId: string, ioUring?: boolean): Promise<void>;
  pause(containerId: string): Promise<void>;
  resume(containerId: string): Promise<void>;
}

/** Sentry is one running runsc-ts-sentry (one sandbox) and its control connection. */
export class Sentry implements SandboxControl {
  private exited = false;
  private readonly exitHandlers: ((why: string) => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    socket: net.Socket,
    private readonly client: Client,
  ) {
    const gone = (why: string): void => {
      if (this.exited) return;
      this.exited = true;
      for (const h of this.exitHandlers) h(why);
    };
    child.once('exit', (code, signal) => gone(signal ? `sentry killed by ${signal}` : `sentry exited with status ${code}`));
    socket.once('close', () => gone('sentry control connection closed'));
  }

  /**
   * spawn starts a sentry for the sandbox id. Its log goes to the shim log, or to the config's
   * debug-log file (%ID% = sandbox id, %COMMAND% = "sentry").
   */
  static spawn(sandboxId: string, config: SandboxConfig = DEFAULT_CONFIG): Sentry {
    let logFd = getLogFd();
    if (config.debugLog) {
      const file = config.debugLog.replace(/%ID%/g, sandboxId).replace(/%COMMAND%/g, 'sentry');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      logFd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o640);
    }
    const [mine, theirs] = native.socketPair();
    const args = ['--control-fd', '3', '--id', sandboxId];
    if (isDebug() || config.debug) args.push('--debug');
    let child: ChildProcess;
    try {
      child = spawn(SENTRY_BINARY, args, { stdio: ['ignore', logFd, logFd, theirs] });
    } finally {
      fs.closeSync(theirs);
      if (logFd !== getLogFd()) fs.closeSync(logFd);
    }
    const socket = new net.Socket({ fd: mine, readable: true, writable: true });
    const client = new Client(socket, { writer: (frame, fds) => native.sendFrame(mine, frame, fds) });
    child.once('error', (err) => log.error('sentry failed to start', { error: err.message }));
    return new Sentry(child, socket, client);
  }

  /** pid is the sentry's process id. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** onExit registers a handler for the sentry dying or its connection closing. */
  onExit(handler: (why: string) => void): void {
    this.exitHandlers.push(handler);
  }

  private async call(method: string, payload: Uint8Array, fds?: number[]): Promise<Buffer> {
    return this.client.call(SERVICE, method, payload, fds && fds.length > 0 ? { fds } : undefined);
  }

  /** createContainer sets a container up; the init waits for startContainer. */
  async createContainer(req: runsc_ts.sentry.v1.ICreateContainerRequest, fds: number[]): Promise<runsc_ts.sentry.v1.CreateContainerResponse> {
    const out = await this.call('CreateContainer', pb.CreateContainerRequest.encode(req).finish(), fds);
    return pb.CreateContainerResponse.decode(out);
  }

  /** startContainer lets the container's init exec. */
  async startContainer(containerId: string): Promise<void> {
    await this.call('StartContainer', pb.StartContainerRequest.encode({ containerId }).finish());
  }

  /** exec starts another process in a running container. */
  async exec(req: runsc_ts.sentry.v1.IExecRequest, fds: number[]): Promise<runsc_ts.sentry.v1.ExecResponse> {
    const out = await this.call('Exec', pb.ExecRequest.encode(req).finish(), fds);
    return pb.ExecResponse.decode(out);
  }

  /** signal sends sig to one process (pid) or, with all, to every process of the container. */
  async signal(containerId: string, pid: number, signal: number, all: boolean): Promise<void> {
    const mode = all ? pb.SignalRequest.Mode.ALL : pb.SignalRequest.Mode.PROCESS;
    await this.call('Signal', pb.SignalRequest.encode({ containerId, pid, signal, mode }).finish());
  }

  /** wait resolves when the process has exited. */
  async wait(containerId: string, pid: number): Promise<ExitInfo> {
    const out = pb.WaitResponse.decode(await this.call('Wait', pb.WaitRequest.encode({ containerId, pid }).finish()));
    return { exitStatus: out.exitStatus, exitedAt: toDate(out.exitedAt) };
  }

  /** processes lists the container's live processes. */
  async processes(containerId: string): Promise<runsc_ts.sentry.v1.IProcessInfo[]> {
    const out = await this.call('Processes', pb.ProcessesRequest.encode({ containerId }).finish());
    return pb.ProcessesResponse.decode(out).processes;
  }

  /** resizePty sets a terminal's window size. */
  async resizePty(containerId: string, pid: number, width: number, height: number): Promise<void> {
    await this.call('ResizePty', pb.ResizePtyRequest.encode({ containerId, pid, width, height }).finish());
  }

  /** closeStdin ends a terminal process's input. */
  async closeStdin(containerId: string, pid: number): Promise<void> {
    await this.call('CloseStdin', pb.CloseStdinRequest.encode({ containerId, pid }).finish());
  }

  /** goferDied tells the sentry to answer EIO on the container's FUSE connections (or end them: ioUring). */
  async goferDied(containerId: string, ioUring = false): Promise<void> {
    await this.call('GoferDied', pb.GoferDiedRequest.encode({ containerId, ioUring }).finish());
  }

  /** destroyContainer kills what is left of a container and forgets it. */
  async destroyContainer(containerId: string): Promise<void> {
    await this.call('DestroyContainer', pb.DestroyContainerRequest.encode({ containerId }).finish());
  }

  /** pause holds every process of the container (ptrace stops, invisible to it). */
  async pause(containerId: string): Promise<void> {
    await this.call('Pause', pb.PauseRequest.encode({ containerId }).finish());
  }

  /** resume lets a paused container's processes run again. */
  async resume(containerId: string): Promise<void> {
    await this.call('Resume', pb.ResumeRequest.encode({ containerId }).finish());
  }

  /** shutdown ends the sandbox; the sentry exits after answering. */
  async shutdown(): Promise<void> {
    if (this.exited) return;
    try {
      await this.client.call(SERVICE, 'Shutdown', new Uint8Array(0), { timeoutMs: 5000 });
    } catch (err) {
      log.warn('sentry shutdown', { error: (err as Error).message });
    }
    await this.waitExit(3000);
  }

  /** kill ends the sentry at once (its tracees die with it: PTRACE_O_EXITKILL). */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private waitExit(ms: number): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.kill();
        resolve();
      }, ms);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
