// One process of a container (its init or an exec) and the state machine that says what is legal.
import { failedPrecondition } from '../errors';
import type { ExitInfo } from '../sentry';
import type { runsc_ts } from '../gen/protos';
import type { OpenStdio, StdioPaths } from './stdio';

/** ProcessState is where a process is in its life. */
export type ProcessState = 'created' | 'running' | 'stopped' | 'deleted';

/** Operation is a Task API operation checked against a process's state. */
export type Operation = 'start' | 'kill' | 'delete' | 'resize' | 'closeio' | 'exec';

/** checkState throws "cannot <op> process in <state> state" when op is illegal in state. */
export function checkState(state: ProcessState, op: Operation): void {
  let ok: boolean;
  switch (state) {
    case 'created':
      ok = op === 'start' || op === 'kill' || op === 'delete' || op === 'closeio';
      break;
    case 'running':
      ok = op === 'kill' || op === 'resize' || op === 'closeio' || op === 'exec';
      break;
    case 'stopped':
      ok = op === 'delete' || op === 'closeio';
      break;
    case 'deleted':
      ok = false;
      break;
  }
  if (!ok) throw failedPrecondition(`cannot ${op} process in ${state} state`);
}

/** Process is one process the shim manages. id is the exec id, or the container id for init. */
export class Process {
  state: ProcessState = 'created';
  pid = 0;
  exitStatus = 0;
  exitedAt: Date | undefined;
  stdio: OpenStdio | undefined;
  /** starting is set while Start is in flight; an exit that arrives meanwhile is held back. */
  starting = false;
  /** heldExit is an exit that arrived while Start was in flight. */
  heldExit: ExitInfo | undefined;
  /** execProcess is an exec's process as the sentry takes it, converted (and so validated) at Exec. */
  execProcess: runsc_ts.sentry.v1.IProcess | undefined;
  private readonly exitWaiters: (() => void)[] = [];

  constructor(
    readonly containerId: string,
    readonly id: string,
    readonly execId: string,
    readonly paths: StdioPaths,
  ) {}

  /** isInit tells whether this is the container's init process. */
  get isInit(): boolean {
    return this.execId === '';
  }

  /** transition moves to the next state after checking the operation is legal. */
  transition(op: Operation, next: ProcessState): void {
    checkState(this.state, op);
    this.state = next;
  }

  /** setExited records the exit and wakes every Wait. */
  setExited(exitStatus: number, exitedAt: Date): void {
    this.exitStatus = exitStatus;
    this.exitedAt = exitedAt;
    this.state = 'stopped';
    for (const w of this.exitWaiters.splice(0)) w();
  }

  /** waitExit resolves once the process is stopped (at once if it already is). */
  waitExit(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'deleted') return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }
}
