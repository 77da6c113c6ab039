// A container of the sandbox as the shim sees it: its bundle, rootfs mount, init and execs.
import { notFound } from '../errors';
import type { FileServer } from '../gofer';
import type { OciSpec } from '../spec/oci';
import type { ExitInfo } from '../sentry';
import { Process } from './process';

/** Container is one task containerd created on this shim. */
export class Container {
  readonly execs = new Map<string, Process>();
  /** paused is set between Pause and Resume: the sentry holds every process of the container. */
  paused = false;
  /** heldInitExit is the init's exit, kept back until every exec's exit is published. */
  heldInitExit: ExitInfo | undefined;

  constructor(
    readonly id: string,
    readonly bundle: string,
    readonly spec: OciSpec,
    readonly rootfs: string,
    readonly rootfsMounted: boolean,
    /** cgroup is the container's cgroup path (relative to each hierarchy's root), "" for none. */
    readonly cgroup: string,
    readonly init: Process,
    /** gofer serves the container's files (file-access exclusive or shared); none with direct. */
    readonly gofer?: FileServer,
  ) {}

  /** process finds the init (execId "") or an exec, or throws NotFound. */
  process(execId: string): Process {
    if (!execId) return this.init;
    const p = this.execs.get(execId);
    if (!p) throw notFound(`process does not exist ${execId}`);
    return p;
  }

  /** liveExecs are the execs that were started and have not had their exit published. */
  liveExecs(): Process[] {
    return [...this.execs.values()].filter((p) => p.state === 'running' || p.starting);
  }
}
