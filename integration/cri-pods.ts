// Pods for the CRI tests: builds pod and container configs the way kubelet does (cgroup parent,
// namespace modes, log paths) and runs them through a CriClient, removed again at test teardown.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type tap from 'tap';
import { Containerd, CRI_NAMESPACE, PAUSE_IMAGE, startContainerd } from './containerd';
import { CriClient, isNotFound, runtime } from './cri';
import { TapTest, uniqueId, waitFor } from './helpers';
import { BUSYBOX_IMAGE, importCriImages } from './image';
import v1 = runtime.v1;

/** CRI_HANDLER is the runtime handler under test: runsc-ts unless RUNSC_TS_CRI_HANDLER names another (e.g. runc). */
export const CRI_HANDLER = process.env.RUNSC_TS_CRI_HANDLER || 'runsc-ts';

/** POD_LABEL marks every pod and container the tests make. */
export const POD_LABEL = 'runsc-ts.test/suite';

// What kubelet masks and makes read-only in every container with the default procMount.
const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * PodOptions shape a pod: whether its containers share one pid namespace (shareProcessNamespace)
 * and a limit on the tasks of the whole pod (kubelet's podPidsLimit, set on the pod cgroup).
 */
export interface PodOptions {
  sharePid?: boolean;
  pidsLimit?: number;
}

/** ContainerOptions shape a container: its command, host-dir mounts and extra env. */
export interface ContainerOptions {
  command: string[];
  mounts?: v1.IMount[];
  env?: Record<string, string>;
}

/** Pod is a running pod sandbox: its id, the config it was made with and its log directory. */
export interface Pod {
  id: string;
  name: string;
  uid: string;
  config: v1.IPodSandboxConfig;
  logDir: string;
  /** containers started in it, by name. */
  containers: Map<string, string>;
}

// The pid namespace mode of a pod's containers, as kubelet sets it for shareProcessNamespace.
function pidMode(opts: PodOptions): v1.NamespaceMode {
  return opts.sharePid ? v1.NamespaceMode.POD : v1.NamespaceMode.CONTAINER;
}

/**
 * podConfig builds a sandbox config as kubelet would for a BestEffort pod: log directory under
 * the base dir, cgroup parent under cd.cgroupRoot, network and IPC shared in the pod.
 */
export function podConfig(cd: Containerd, name: string, uid: string, opts: PodOptions = {}): v1.IPodSandboxConfig {
  const namespace = 'runsc-ts-test';
  return {
    metadata: { name, uid, namespace, attempt: 0 },
    hostname: name,
    logDirectory: path.join(cd.baseDir, 'pods', `${namespace}_${name}_${uid}`),
    dnsConfig: { servers: ['127.0.0.1'], searches: [], options: [] },
    portMappings: [],
    labels: { [POD_LABEL]: 'cri', 'io.kubernetes.pod.name': name },
    annotations: { 'runsc-ts.test/pod': name },
    linux: {
      cgroupParent: `${cd.cgroupRoot}/pod${uid}`,
      securityContext: {
        namespaceOptions: { network: v1.NamespaceMode.POD, pid: pidMode(opts), ipc: v1.NamespaceMode.POD },
        privileged: false,
      },
    },
  };
}

/**
 * containerConfig builds a busybox container config as kubelet would for a BestEffort container
 * (cpu shares 2, oom_score_adj 1000, default masked and read-only paths), log at `<name>/0.log`.
 */
export function containerConfig(name: string, c: ContainerOptions, opts: PodOptions = {}): v1.IContainerConfig {
  return {
    metadata: { name, attempt: 0 },
    image: { image: BUSYBOX_IMAGE },
    command: c.command,
    args: [],
    workingDir: '',
    envs: Object.entries({ RUNSC_TS_TEST: '1', ...(c.env ?? {}) }).map(([key, value]) => ({ key, value })),
    mounts: c.mounts ?? [],
    labels: { [POD_LABEL]: 'cri', 'io.kubernetes.container.name': name },
    annotations: { 'runsc-ts.test/container': name },
    logPath: `${name}/0.log`,
    stdin: false,
    stdinOnce: false,
    tty: false,
    linux: {
      resources: { cpuPeriod: 100_000, cpuQuota: 0, cpuShares: 2, memoryLimitInBytes: 0, oomScoreAdj: 1000 },
      securityContext: {
        namespaceOptions: { network: v1.NamespaceMode.POD, pid: pidMode(opts), ipc: v1.NamespaceMode.POD },
        privileged: false,
        maskedPaths: MASKED_PATHS,
        readonlyPaths: READONLY_PATHS,
      },
    },
  };
}

/**
 * limitPodPids creates the pod cgroup `cgroupParent` in the pids hierarchy (cgroup v1, else the
 * unified one) with pids.max = `limit`, as kubelet does for podPidsLimit; every container cgroup
 * the runtime makes below it counts against it. The containerd's stop() removes the tree.
 */
export function limitPodPids(cgroupParent: string, limit: number): void {
  const v1Dir = path.join('/sys/fs/cgroup/pids', cgroupParent);
  const dir = fs.existsSync('/sys/fs/cgroup/pids') ? v1Dir : path.join('/sys/fs/cgroup', cgroupParent);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'pids.max'), String(limit));
}

/** PodRunner runs pods with one CriClient against one containerd, for one handler. */
export class PodRunner {
  readonly cd: Containerd;
  readonly cri: CriClient;
  readonly handler: string;

  constructor(cd: Containerd, cri: CriClient, handler: string = CRI_HANDLER) {
    this.cd = cd;
    this.cri = cri;
    this.handler = handler;
  }

  /**
   * runPod runs a pod sandbox named after `prefix` and registers its stop and removal at `t`'s
   * teardown (NotFound is fine there: the test may have removed it already).
   */
  async runPod(t: TapTest, prefix: string, opts: PodOptions = {}): Promise<Pod> {
    const name = uniqueId(prefix);
    const uid = crypto.randomUUID();
    const config = podConfig(this.cd, name, uid, opts);
    fs.mkdirSync(config.logDirectory!, { recursive: true });
    if (opts.pidsLimit !== undefined) limitPodPids(config.linux!.cgroupParent!, opts.pidsLimit);
    let id = '';
    t.teardown(async () => {
      if (id === '') return;
      await this.removePodQuietly(id);
    });
    id = await this.cri.runPodSandbox(config, this.handler, 120_000);
    return { id, name, uid, config, logDir: config.logDirectory!, containers: new Map() };
  }

  /** removePodQuietly stops and removes a pod, ignoring NotFound and reporting nothing. */
  async removePodQuietly(id: string): Promise<void> {
    try {
      await this.cri.stopPodSandbox(id, 60_000);
    } catch (err) {
      if (!isNotFound(err)) console.error(`# teardown: stopping pod ${id}: ${(err as Error).message}`);
    }
    try {
      await this.cri.removePodSandbox(id, 60_000);
    } catch (err) {
      if (!isNotFound(err)) console.error(`# teardown: removing pod ${id}: ${(err as Error).message}`);
    }
  }

  /** createContainer creates (not starts) container `name` in `pod` and returns its id. */
  async createContainer(pod: Pod, name: string, c: ContainerOptions, opts: PodOptions = {}): Promise<string> {
    fs.mkdirSync(path.join(pod.logDir, name), { recursive: true });
    const id = await this.cri.createContainer(pod.id, containerConfig(name, c, opts), pod.config, 60_000);
    pod.containers.set(name, id);
    return id;
  }

  /** startContainer creates and starts container `name` in `pod` and returns its id. */
  async startContainer(pod: Pod, name: string, c: ContainerOptions, opts: PodOptions = {}): Promise<string> {
    const id = await this.createContainer(pod, name, c, opts);
    await this.cri.startContainer(id, 60_000);
    return id;
  }

  /** waitState polls ContainerStatus until the container is in `state` (or `timeoutMs` passes) and returns the last status. */
  async waitState(id: string, state: v1.ContainerState, timeoutMs = 20_000): Promise<v1.IContainerStatus | undefined> {
    return waitFor(
      async () => (await this.cri.containerStatus(id)).status ?? undefined,
      (s) => s?.state === state,
      timeoutMs,
      200,
    );
  }
}

/** logPathOf is the host path of a pod container's CRI log file. */
export function logPathOf(pod: Pod, name: string): string {
  return path.join(pod.logDir, name, '0.log');
}

/** readLog returns a CRI log file's text, '' while it does not exist. */
export function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** CriLogLine is one line of a CRI log file: "<RFC3339Nano time> <stream> <P|F> <text>". */
export interface CriLogLine {
  time: string;
  stream: string;
  tag: string;
  text: string;
}

/** parseCriLog splits a CRI log file into lines; lines not in CRI format are dropped. */
export function parseCriLog(text: string): CriLogLine[] {
  const out: CriLogLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/.exec(line);
    if (m) out.push({ time: m[1], stream: m[2], tag: m[3], text: m[4] });
  }
  return out;
}

/** waitLog waits until the log of container `name` has a full stdout line `text`; returns the whole log. */
export async function waitLog(pod: Pod, name: string, text: string, timeoutMs = 20_000): Promise<string> {
  const file = logPathOf(pod, name);
  return waitFor(
    () => readLog(file),
    (s) => parseCriLog(s).some((l) => l.stream === 'stdout' && l.tag === 'F' && l.text === text),
    timeoutMs,
    100,
  );
}

/** text decodes ExecSync output bytes. */
export function text(b: Uint8Array | null | undefined): string {
  return b ? Buffer.from(b).toString('utf8') : '';
}

/** elapsed runs `fn` and returns how long it took in milliseconds, with its result. */
export async function elapsed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = Date.now();
  const value = await fn();
  return { ms: Date.now() - start, value };
}

/** CriHarness is a private containerd with the CRI on, a CRI client and a PodRunner for it. */
export interface CriHarness {
  cd: Containerd;
  cri: CriClient;
  pods: PodRunner;
}

/**
 * useCriHarness starts a CRI-enabled private containerd for a test file (t.before), imports the
 * pause and busybox images and waits until the CRI lists them, and stops it all at t.teardown.
 * It returns the accessor the tests use.
 */
export function useCriHarness(t: typeof tap, label: string): () => CriHarness {
  let cd: Containerd | undefined;
  let h: CriHarness | undefined;
  t.before(async () => {
    cd = await startContainerd({ cri: true, label });
    const cri = new CriClient(cd.address);
    h = { cd, cri, pods: new PodRunner(cd, cri) };
    await importCriImages(cd);
    // The CRI learns about imported images from containerd's events, a moment later.
    const known = await waitFor(
      async () => Boolean((await cri.imageStatus(PAUSE_IMAGE)).image) && Boolean((await cri.imageStatus(BUSYBOX_IMAGE)).image),
      (ok) => ok,
      20_000,
      200,
    );
    if (!known) throw new Error(`the CRI does not list ${PAUSE_IMAGE} and ${BUSYBOX_IMAGE} after importing them into ${CRI_NAMESPACE}`);
  });
  t.teardown(async () => {
    h?.cri.close();
    await cd?.stop();
  });
  return () => {
    if (!h) throw new Error('private containerd with CRI did not start');
    return h;
  };
}
