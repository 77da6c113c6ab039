// Starts and stops a private containerd for integration tests (own temp root, state, socket and
// config; never the system one) and runs `ctr` against it with timeouts.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ZYGOTE_SLOTS, zygotePath } from '../shim/bootstrap/zygote-path';
import { Leftovers, leakedProcesses, leftovers, mountsUnder } from './leftovers';

/** CONTAINERD_BINARY is the containerd executable the harness starts. */
export const CONTAINERD_BINARY = '/usr/bin/containerd';

/** CTR_BINARY is the ctr client the harness runs. */
export const CTR_BINARY = '/usr/bin/ctr';

/** TEST_NAMESPACE is the containerd namespace tests use unless told otherwise. */
export const TEST_NAMESPACE = 'runsc-ts-test';

/** RUNSC_TS_RUNTIME is the runtime name `ctr run --runtime` takes for our shim. */
export const RUNSC_TS_RUNTIME = 'io.containerd.runsc-ts.v1';

/** RUNC_RUNTIME is Debian's runc shim, the control group. */
export const RUNC_RUNTIME = 'io.containerd.runc.v2';

// containerd 1.6 shims put their sockets here whatever the configured state dir is.
const SHIM_SOCKET_DIR = '/run/containerd/s';

// The runc-v2 shim keeps runc's state here (runc --root), also whatever the state dir is.
const RUNC_ROOT = '/run/containerd/runc';

/** CRI_NAMESPACE is the containerd namespace the CRI plugin keeps pods, containers and images in. */
export const CRI_NAMESPACE = 'k8s.io';

/** PAUSE_IMAGE is the CRI sandbox image: our own pause, built and imported by image.ts. */
export const PAUSE_IMAGE = 'localhost/runsc-ts/pause:3.9';

/** CNI_BIN_DIR holds Debian's CNI plugins (package containernetworking-plugins). */
export const CNI_BIN_DIR = '/usr/lib/cni';

// libcni caches each attachment's result here (not configurable in containerd 1.6's CRI).
const CNI_CACHE_DIR = '/var/lib/cni';

// Host paths outside the base dir that our containerd's shims, ctr and CNI may create; those
// absent at start are removed again at stop if empty.
const RUN_DIRS = [
  '/run/containerd',
  SHIM_SOCKET_DIR,
  RUNC_ROOT,
  path.join(RUNC_ROOT, CRI_NAMESPACE),
  '/run/containerd/fifo',
  CNI_CACHE_DIR,
  path.join(CNI_CACHE_DIR, 'results'),
];

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// Finds the repository root by walking up to the package.json named runsc-ts, so this works
// from build/js/integration/ (compiled) as well as from integration/ (sources).
function findRepoDir(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'runsc-ts') return dir;
    } catch {
      // keep walking
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(__dirname, '..', '..', '..');
    dir = up;
  }
}

/** REPO_DIR is the repository root (the compiled file lives in build/js/integration/). */
export const REPO_DIR = findRepoDir();

/** SHIM_BIN_DIR holds containerd-shim-runsc-ts-v1; it is put first on containerd's PATH. */
export const SHIM_BIN_DIR = path.join(REPO_DIR, 'build', 'bin');

/** LOG_DIR is where each stopped containerd's log is copied, for reading after a failed run. */
export const LOG_DIR = path.join(REPO_DIR, 'build', 'integration', 'logs');

/** RunResult is how a command ended: exit code (128+N for signal N, -1 if it never ran) and output. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

/** RunOptions tunes one command: data for stdin (closed after it), a timeout, extra env, cwd. */
export interface RunOptions {
  input?: string | Buffer;
  /** keep stdin open after `input` until this settles (e.g. until the task runs). */
  closeStdinAfter?: Promise<unknown>;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** DEFAULT_CTR_TIMEOUT_MS bounds every ctr call that does not pass its own timeout. */
export const DEFAULT_CTR_TIMEOUT_MS = 60_000;

const SIGNAL_NUMBERS: Record<string, number> = os.constants.signals as unknown as Record<string, number>;

/**
 * runCommand runs `file args` in its own process group, feeds `input` (or an immediate EOF) on
 * stdin, never throws on failure, and kills the whole group with SIGKILL on timeout.
 */
export function runCommand(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CTR_TIMEOUT_MS;
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd: opts.cwd,
        env: { ...process.env, ...(opts.env ?? {}) },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      resolve({ code: -1, stdout: '', stderr: `spawning ${file}: ${String(err)}`, signal: null, timedOut: false });
      return;
    }
    const out: Buffer[] = [];
    const errs: Buffer[] = [];
    let timedOut = false;
    let done = false;
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => errs.push(b));
    child.stdin!.on('error', () => undefined); // EPIPE when the command does not read stdin
    if (opts.input !== undefined) child.stdin!.write(opts.input);
    if (opts.closeStdinAfter) {
      const end = (): void => {
        if (!child.stdin!.destroyed) child.stdin!.end();
      };
      opts.closeStdinAfter.then(end, end);
    } else child.stdin!.end();
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    const finish = (code: number, signal: NodeJS.Signals | null, extra = ''): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      let stderr = Buffer.concat(errs).toString('utf8') + extra;
      if (timedOut) stderr += `\n[harness: ${path.basename(file)} killed after ${timeoutMs} ms timeout]`;
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr, signal, timedOut });
    };
    child.on('error', (err) => finish(-1, null, `spawning ${file}: ${err.message}`));
    child.on('close', (code, signal) => {
      finish(code ?? (signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 0) : -1), signal);
    });
  });
}

/**
 * withFifoDir adds `--fifo-dir DIR` to the ctr subcommands that create IO FIFOs, unless given:
 * `ctr run -d` would otherwise leave FIFOs in /run/containerd/fifo forever.
 */
export function withFifoDir(args: string[], dir: string): string[] {
  if (args.includes('--fifo-dir')) return args;
  if (args[0] === 'run') return [args[0], '--fifo-dir', dir, ...args.slice(1)];
  if (['task', 'tasks', 't'].includes(args[0]) && ['start', 'exec'].includes(args[1])) {
    return [args[0], args[1], '--fifo-dir', dir, ...args.slice(2)];
  }
  return args;
}

/** ContainerdOptions tunes startContainerd; every field has a sensible default. */
export interface ContainerdOptions {
  /** namespace used by ctr(); default TEST_NAMESPACE. */
  namespace?: string;
  /** containerd --log-level; default debug, so shim logs land in the log too. */
  logLevel?: string;
  /** how long to wait for the socket to answer; default 20 s. */
  startTimeoutMs?: number;
  /** parent directory of the base dir; default os.tmpdir(). */
  tmpDir?: string;
  /** name of the copy of containerd's log kept in LOG_DIR after stop(); default "containerd". */
  label?: string;
  /** extra TOML appended to the generated config. */
  extraConfig?: string;
  /** directory put first on containerd's PATH to find containerd-shim-runsc-ts-v1; default SHIM_BIN_DIR. */
  shimBinDir?: string;
  /**
   * cri gives the CRI plugin a private CNI network (criNetwork) and makes stop() stop and remove
   * every pod through the CRI first; default false (the CRI plugin runs either way).
   */
  cri?: boolean;
}

/**
 * CriNetwork is the private CNI network of one containerd: a bridge with no address on the host,
 * no gateway, no masquerade and no routes, so pod traffic never leaves the machine.
 */
export interface CriNetwork {
  /** CNI network name; also the prefix of libcni's cache files. */
  name: string;
  /** host bridge device (at most 15 characters), created by the bridge plugin on first use. */
  bridge: string;
  /** pod subnet handed out by host-local IPAM. */
  subnet: string;
  /** the .conflist file in the CRI's conf_dir. */
  confPath: string;
}

/** Containerd is a running private containerd and the means to drive and stop it. */
export interface Containerd {
  /** gRPC socket path (what `ctr --address` and shims' `-address` get). */
  address: string;
  /** ttrpc socket path (shims' TTRPC_ADDRESS). */
  ttrpcAddress: string;
  namespace: string;
  /** temp dir holding root/, state/, config.toml, the sockets and containerd.log. */
  baseDir: string;
  rootDir: string;
  stateDir: string;
  configPath: string;
  logPath: string;
  /** containerd's pid. */
  pid: number;
  /** fifoDir is where ctr() makes ctr keep its IO FIFOs (instead of /run/containerd/fifo). */
  fifoDir: string;
  /** criNetwork is the private CNI network, present when started with `cri: true`. */
  criNetwork?: CriNetwork;
  /**
   * cgroupRoot is a cgroup path ("/runsc-ts-it-XXXXXX") unique to this containerd, to put pods'
   * cgroup_parent under; stop() removes what runtimes left of it.
   */
  cgroupRoot: string;
  /**
   * ctr runs `ctr --address SOCK -n NS ...args` (adding `--fifo-dir fifoDir` to `run`,
   * `task start` and `task exec`); it never throws on a non-zero exit.
   */
  ctr(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** ctrNs is ctr() against namespace `namespace` instead of the default one. */
  ctrNs(namespace: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** logTail returns the last `lines` lines of containerd's log. */
  logTail(lines?: number): string;
  /** fdCount returns how many fds containerd has open now. */
  fdCount(): number;
  /** leftovers lists processes, mounts and bundle dirs still tied to this containerd. */
  leftovers(): Leftovers;
  /** shimSocket returns the socket path a 1.6 runc-style shim uses for container `id`. */
  shimSocket(id: string, namespace?: string): string;
  /** stop deletes all tasks and containers, stops containerd and removes everything; idempotent. */
  stop(): Promise<void>;
}

// Builds config.toml (version 2) for a base dir. The CRI keeps its state under root/ and state/
// (netns bind mounts too), uses our pause image and finds CNI plugins in CNI_BIN_DIR.
function configToml(baseDir: string, address: string, ttrpcAddress: string, extra: string): string {
  const q = (s: string): string => JSON.stringify(s);
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `# Private containerd for runsc-ts integration tests; generated by integration/containerd.ts.
version = 2
root = ${q(path.join(baseDir, 'root'))}
state = ${q(path.join(baseDir, 'state'))}
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${q(address)}

[ttrpc]
  address = ${q(ttrpcAddress)}

[${cri}]
  sandbox_image = ${q(PAUSE_IMAGE)}
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_port = "0"
  disable_tcp_service = true

[${cri}.cni]
  bin_dir = ${q(CNI_BIN_DIR)}
  conf_dir = ${q(path.join(baseDir, 'cni', 'net.d'))}
  max_conf_num = 1

[${cri}.containerd]
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = ${q(RUNC_RUNTIME)}

[${cri}.containerd.runtimes.runsc-ts]
  runtime_type = ${q(RUNSC_TS_RUNTIME)}
${extra}`;
}

/** criNetworkFor names the private CNI network of the containerd in `baseDir` (from a hash of it). */
export function criNetworkFor(baseDir: string): CriNetwork {
  const h = crypto.createHash('sha256').update(baseDir).digest();
  return {
    name: `runsc-ts-it-${h.toString('hex').slice(0, 12)}`,
    bridge: `rts${h.toString('hex').slice(0, 10)}`,
    // 198.18.0.0/15 is reserved for benchmarking; the host never routes to it here anyway.
    subnet: `198.${18 + (h[10] & 1)}.${h[11]}.0/24`,
    confPath: path.join(baseDir, 'cni', 'net.d', '10-runsc-ts-it.conflist'),
  };
}

/**
 * cniConflist is the network config: the bridge plugin with host-local IPAM (state under the
 * base dir). No loopback entry: the CRI runs CNI_BIN_DIR/loopback for "lo" by itself.
 */
export function cniConflist(net: CriNetwork, baseDir: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: net.name,
      plugins: [
        {
          type: 'bridge',
          bridge: net.bridge,
          isGateway: false,
          isDefaultGateway: false,
          ipMasq: false,
          hairpinMode: false,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: net.subnet }]],
            routes: [],
            dataDir: path.join(baseDir, 'cni', 'ipam'),
          },
        },
      ],
    },
    null,
    2,
  );
}

function tailOf(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// A zombie child still answers kill(0); its /proc stat state is Z.
function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Instances not yet stopped; the exit hook cleans them up synchronously.
const live = new Set<Instance>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const inst of live) inst.stopSync();
  });
  // tap ends a test file that ran out of time with SIGALRM (SIGKILL 0.5-1 s later), so the
  // synchronous cleanup runs first; then the signal is raised again for whoever else listens
  // (tap's signal-exit only acts when it is the only listener) or for the default action.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGALRM'] as const) {
    const handler = (): void => {
      for (const inst of live) inst.stopSync();
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

class Instance implements Containerd {
  address: string;
  ttrpcAddress: string;
  namespace: string;
  baseDir: string;
  rootDir: string;
  stateDir: string;
  configPath: string;
  logPath: string;
  fifoDir: string;
  criNetwork: CriNetwork | undefined;
  cgroupRoot: string;
  pid = 0;
  proc: ChildProcess | undefined;
  exited = false;
  label: string;
  createdRunDirs: string[] = [];
  seenIds = new Set<string>();
  stopping: Promise<void> | undefined;
  stoppedSync = false;

  constructor(baseDir: string, namespace: string, label: string) {
    this.baseDir = baseDir;
    this.namespace = namespace;
    this.label = label;
    this.address = path.join(baseDir, 'containerd.sock');
    this.ttrpcAddress = path.join(baseDir, 'containerd.sock.ttrpc');
    this.rootDir = path.join(baseDir, 'root');
    this.stateDir = path.join(baseDir, 'state');
    this.configPath = path.join(baseDir, 'config.toml');
    this.logPath = path.join(baseDir, 'containerd.log');
    this.fifoDir = path.join(baseDir, 'fifo');
    this.cgroupRoot = '/' + path.basename(baseDir);
  }

  ctr(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return runCommand(CTR_BINARY, ['--address', this.address, '-n', this.namespace, ...withFifoDir(args, this.fifoDir)], opts);
  }

  ctrNs(namespace: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return runCommand(CTR_BINARY, ['--address', this.address, '-n', namespace, ...withFifoDir(args, this.fifoDir)], opts);
  }

  // ctrIn is ctr against another namespace (used while cleaning up).
  ctrIn(ns: string, args: string[], timeoutMs: number): Promise<RunResult> {
    return runCommand(CTR_BINARY, ['--address', this.address, '-n', ns, ...args], { timeoutMs });
  }

  logTail(lines = 60): string {
    return tailOf(this.logPath, lines);
  }

  fdCount(): number {
    return fs.readdirSync(`/proc/${this.pid}/fd`).length;
  }

  leftovers(): Leftovers {
    return leftovers(this.baseDir, { excludePids: this.pid && !this.exited ? [this.pid] : [] });
  }

  shimSocket(id: string, namespace = this.namespace): string {
    const digest = crypto.createHash('sha256').update(path.join(this.address, namespace, id)).digest('hex');
    return path.join(SHIM_SOCKET_DIR, digest);
  }

  async start(startTimeoutMs: number, logLevel: string, extraConfig: string, shimBinDir: string): Promise<void> {
    for (const d of RUN_DIRS) if (!fs.existsSync(d)) this.createdRunDirs.unshift(d);
    fs.writeFileSync(this.configPath, configToml(this.baseDir, this.address, this.ttrpcAddress, extraConfig));
    fs.mkdirSync(path.join(this.baseDir, 'cni', 'net.d'), { recursive: true });
    if (this.criNetwork) fs.writeFileSync(this.criNetwork.confPath, cniConflist(this.criNetwork, this.baseDir));
    const logFd = fs.openSync(this.logPath, 'a');
    const pathDirs = [shimBinDir, ...(process.env.PATH ?? '').split(':').filter((d) => d !== '')];
    for (const d of DEFAULT_PATH.split(':')) if (!pathDirs.includes(d)) pathDirs.push(d);
    try {
      this.proc = spawn(CONTAINERD_BINARY, ['--config', this.configPath, '--log-level', logLevel], {
        cwd: this.baseDir,
        env: { ...process.env, PATH: pathDirs.join(':') },
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      fs.closeSync(logFd);
    }
    this.pid = this.proc.pid ?? 0;
    let spawnError = '';
    this.proc.on('error', (err) => {
      spawnError = err.message;
      this.exited = true;
    });
    this.proc.on('exit', () => {
      this.exited = true;
    });
    const deadline = Date.now() + startTimeoutMs;
    let last: RunResult | undefined;
    while (Date.now() < deadline) {
      if (this.exited) break;
      if (fs.existsSync(this.address)) {
        last = await runCommand(CTR_BINARY, ['--address', this.address, 'version'], { timeoutMs: 5_000 });
        if (last.code === 0) return;
      }
      await sleep(200);
    }
    const why = spawnError
      ? `spawning ${CONTAINERD_BINARY}: ${spawnError}`
      : this.exited
        ? `containerd exited with ${this.proc.exitCode ?? this.proc.signalCode}`
        : `socket ${this.address} did not answer within ${startTimeoutMs} ms${last ? `: ${last.stderr.trim()}` : ''}`;
    throw new Error(`starting private containerd in ${this.baseDir}: ${why}\n--- containerd log tail ---\n${this.logTail(40)}`);
  }

  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop();
    return this.stopping;
  }

  // Lists namespaces, falling back to ours when containerd does not answer.
  async namespaces(): Promise<string[]> {
    const r = await runCommand(CTR_BINARY, ['--address', this.address, 'namespaces', 'ls', '-q'], { timeoutMs: 10_000 });
    const list = r.code === 0 ? r.stdout.split('\n').map((s) => s.trim()).filter((s) => s !== '') : [];
    return list.includes(this.namespace) ? list : [...list, this.namespace];
  }

  // Kills and deletes every task, then deletes every container, in every namespace.
  async deleteEverything(errors: string[]): Promise<void> {
    for (const ns of await this.namespaces()) {
      const tasks = await this.ctrIn(ns, ['tasks', 'ls', '-q'], 10_000);
      const taskIds = tasks.code === 0 ? tasks.stdout.split('\n').map((s) => s.trim()).filter((s) => s !== '') : [];
      await Promise.all(
        taskIds.map(async (id) => {
          this.seenIds.add(`${ns}/${id}`);
          await this.ctrIn(ns, ['tasks', 'kill', '--all', '--signal', 'SIGKILL', id], 10_000);
          const del = await this.ctrIn(ns, ['tasks', 'delete', '--force', id], 20_000);
          if (del.code !== 0 && !/not found/.test(del.stderr)) errors.push(`deleting task ${ns}/${id}: ${del.stderr.trim()}`);
        }),
      );
      const cs = await this.ctrIn(ns, ['containers', 'ls', '-q'], 10_000);
      const ids = cs.code === 0 ? cs.stdout.split('\n').map((s) => s.trim()).filter((s) => s !== '') : [];
      for (const id of ids) {
        this.seenIds.add(`${ns}/${id}`);
        const del = await this.ctrIn(ns, ['containers', 'delete', id], 20_000);
        if (del.code !== 0 && !/not found/.test(del.stderr)) errors.push(`deleting container ${ns}/${id}: ${del.stderr.trim()}`);
      }
    }
  }

  // Shim socket files that belong to this containerd: named in bundles' address files, or
  // derived from container ids seen while cleaning up.
  shimSockets(): string[] {
    const out = new Set<string>();
    const base = path.join(this.stateDir, 'io.containerd.runtime.v2.task');
    let namespaces: string[] = [];
    try {
      namespaces = fs.readdirSync(base);
    } catch {
      // no task ever ran
    }
    for (const ns of namespaces) {
      let ids: string[] = [];
      try {
        ids = fs.readdirSync(path.join(base, ns));
      } catch {
        continue;
      }
      for (const id of ids) {
        this.seenIds.add(`${ns}/${id}`);
        try {
          const addr = fs.readFileSync(path.join(base, ns, id, 'address'), 'utf8').trim();
          if (addr.startsWith('unix://')) out.add(addr.slice('unix://'.length));
        } catch {
          // no address file
        }
      }
    }
    for (const nsId of this.seenIds) {
      const [ns, id] = nsId.split('/');
      out.add(this.shimSocket(id, ns));
    }
    for (let slot = 0; slot < ZYGOTE_SLOTS; slot++) out.add(zygotePath(this.address, slot));
    return [...out].filter((p) => p.startsWith(SHIM_SOCKET_DIR + '/'));
  }

  // Kills processes tied to the base dir (shims, sentries, container processes) and waits.
  async killLeaked(): Promise<void> {
    for (let round = 0; round < 20; round++) {
      const procs = leakedProcesses(this.baseDir, this.exited ? [] : [this.pid], true);
      if (procs.length === 0) return;
      for (const p of procs) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await sleep(150);
    }
  }

  // Deletes runc state the runc-v2 shim left in RUNC_ROOT for our containers (only when a
  // shim died without deleting), then the per-namespace dirs of our test namespaces if empty.
  removeRuncState(): void {
    for (const nsId of this.seenIds) {
      const [ns, id] = nsId.split('/');
      const root = path.join(RUNC_ROOT, ns);
      if (!fs.existsSync(path.join(root, id))) continue;
      spawnSync('runc', ['--root', root, 'delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
      fs.rmSync(path.join(root, id), { recursive: true, force: true });
    }
    for (const ns of new Set([this.namespace, ...[...this.seenIds].map((s) => s.split('/')[0])])) {
      if (!ns.startsWith('runsc-ts')) continue;
      try {
        fs.rmdirSync(path.join(RUNC_ROOT, ns));
      } catch {
        // absent or still in use
      }
    }
  }

  // Unmounts everything under the base dir, deepest first; returns what is still mounted.
  unmountAll(): string[] {
    for (let round = 0; round < 3; round++) {
      const mounts = mountsUnder(this.baseDir);
      if (mounts.length === 0) return [];
      for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore', timeout: 10_000 });
    }
    return mountsUnder(this.baseDir);
  }

  // Removes our shim sockets, the run dirs we created (if empty) and the base dir.
  removeFiles(sockets: string[], errors: string[]): void {
    for (const s of sockets) {
      try {
        if (fs.lstatSync(s).isSocket()) fs.unlinkSync(s);
      } catch {
        // not there
      }
    }
    this.removeRuncState();
    this.removeCgroups();
    this.removeNetwork();
    for (const d of this.createdRunDirs) {
      try {
        fs.rmdirSync(d);
      } catch {
        // in use or not empty: leave it
      }
    }
    try {
      fs.mkdirSync(LOG_DIR, { recursive: true });
      fs.copyFileSync(this.logPath, path.join(LOG_DIR, `${this.label}.log`));
    } catch {
      // the log is a convenience
    }
    const still = this.unmountAll();
    if (still.length > 0) {
      // Never rm -rf across a mount: it could reach into host directories.
      errors.push(`still mounted under ${this.baseDir}, left in place: ${still.join(', ')}`);
      return;
    }
    fs.rmSync(this.baseDir, { recursive: true, force: true, maxRetries: 3 });
  }

  // Removes the bridge the CNI bridge plugin made for our network (pods' veths went with their
  // netns) and libcni's cache files of our network.
  removeNetwork(): void {
    const net = this.criNetwork;
    if (!net) return;
    if (fs.existsSync(path.join('/sys/class/net', net.bridge))) {
      spawnSync('ip', ['link', 'delete', net.bridge, 'type', 'bridge'], { stdio: 'ignore', timeout: 10_000 });
    }
    const results = path.join(CNI_CACHE_DIR, 'results');
    let names: string[] = [];
    try {
      names = fs.readdirSync(results);
    } catch {
      return;
    }
    // The CRI's own loopback network caches per pod too, under a shared name.
    const loopback = new Set([...this.seenIds].filter((s) => s.startsWith(CRI_NAMESPACE + '/')).map((s) => `cni-loopback-${s.split('/')[1]}-lo`));
    for (const n of names) {
      if (n.startsWith(net.name + '-') || loopback.has(n)) fs.rmSync(path.join(results, n), { force: true });
    }
  }

  // Removes the cgroup tree under cgroupRoot in every hierarchy, deepest first (rmdir only
  // succeeds on cgroups without processes, so nothing alive is touched).
  removeCgroupRoot(controllers: string[]): void {
    const rmTree = (dir: string): void => {
      let ents: fs.Dirent[] = [];
      try {
        ents = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of ents) if (e.isDirectory()) rmTree(path.join(dir, e.name));
      try {
        fs.rmdirSync(dir);
      } catch {
        // busy or not a cgroup
      }
    };
    for (const c of controllers) rmTree(path.join('/sys/fs/cgroup', c, this.cgroupRoot));
  }

  // Removes the per-namespace parent cgroups runc-style runtimes create (/<ns>/<id>), when
  // empty; only for our own test namespaces, never e.g. "default" or "k8s.io"; and cgroupRoot.
  removeCgroups(): void {
    const namespaces = new Set([this.namespace, ...[...this.seenIds].map((s) => s.split('/')[0])]);
    let controllers: string[] = [];
    try {
      controllers = fs.readdirSync('/sys/fs/cgroup');
    } catch {
      return;
    }
    this.removeCgroupRoot([...controllers, '']);
    for (const ns of namespaces) {
      if (!ns.startsWith('runsc-ts')) continue;
      for (const c of [...controllers, '']) {
        try {
          fs.rmdirSync(path.join('/sys/fs/cgroup', c, ns));
        } catch {
          // absent, busy or not a cgroup hierarchy
        }
      }
    }
  }

  // Stops containerd: SIGTERM, then SIGKILL after `graceMs`.
  async stopDaemon(graceMs: number): Promise<void> {
    if (!this.pid || this.exited) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + graceMs;
    while (!this.exited && running(this.pid) && Date.now() < deadline) await sleep(50);
    if (!this.exited && running(this.pid)) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
      for (let i = 0; i < 100 && !this.exited; i++) await sleep(50);
    }
  }

  // Stops and removes every CRI pod, so CNI releases addresses, veths and cache files (ctr alone
  // would not), and notes the ids for the shim socket and runc state cleanup.
  async removeCriPods(errors: string[]): Promise<void> {
    const { CriClient } = await import('./cri');
    const cri = new CriClient(this.address, { timeoutMs: 30_000 });
    try {
      const containers = await cri.listContainers({});
      for (const c of containers.containers ?? []) this.seenIds.add(`${CRI_NAMESPACE}/${c.id}`);
      const pods = await cri.listPodSandbox({});
      for (const p of pods.items ?? []) {
        const id = p.id ?? '';
        this.seenIds.add(`${CRI_NAMESPACE}/${id}`);
        try {
          await cri.stopPodSandbox(id);
          await cri.removePodSandbox(id);
        } catch (err) {
          errors.push(`removing CRI pod ${id}: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      errors.push(`listing CRI pods: ${(err as Error).message}`);
    } finally {
      cri.close();
    }
  }

  async doStop(): Promise<void> {
    const errors: string[] = [];
    try {
      if (!this.exited && fs.existsSync(this.address) && (this.criNetwork || (await this.namespaces()).includes(CRI_NAMESPACE))) {
        await this.removeCriPods(errors);
      }
    } catch (err) {
      errors.push(`removing CRI pods: ${(err as Error).message}`);
    }
    try {
      if (!this.exited && fs.existsSync(this.address)) await this.deleteEverything(errors);
    } catch (err) {
      errors.push(`deleting tasks and containers: ${(err as Error).message}`);
    }
    const sockets = this.shimSockets();
    await this.stopDaemon(5_000);
    await this.killLeaked();
    try {
      this.removeFiles(sockets, errors);
    } catch (err) {
      errors.push(`removing ${this.baseDir}: ${(err as Error).message}`);
    }
    live.delete(this);
    if (errors.length > 0) throw new Error(`stopping private containerd in ${this.baseDir}:\n${errors.join('\n')}`);
  }

  // stopSync is the last-resort cleanup at process exit: no ctr, just kill, unmount and remove.
  stopSync(): void {
    if (this.stoppedSync) return;
    this.stoppedSync = true;
    live.delete(this);
    const sockets = this.shimSockets();
    if (this.pid && !this.exited) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (let round = 0; round < 25; round++) {
      const procs = leakedProcesses(this.baseDir, [], true);
      if (procs.length === 0) break;
      for (const p of procs) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      sleepSync(20);
    }
    try {
      this.removeFiles(sockets, []);
    } catch {
      // nothing more to do at exit
    }
  }
}

/**
 * startContainerd starts a private containerd in a fresh temp dir (name containing
 * `runsc-ts-it`) and resolves once its socket answers. Always pair it with `t.teardown(() =>
 * cd.stop())` so it is stopped and removed even when a test fails; stop() is safe to call twice,
 * and a synchronous cleanup also runs at process exit and on SIGINT/SIGTERM/SIGHUP/SIGALRM
 * (tap ends a timed-out test file with SIGALRM).
 */
export async function startContainerd(opts: ContainerdOptions = {}): Promise<Containerd> {
  const baseDir = fs.mkdtempSync(path.join(opts.tmpDir ?? os.tmpdir(), 'runsc-ts-it-'));
  const inst = new Instance(baseDir, opts.namespace ?? TEST_NAMESPACE, opts.label ?? 'containerd');
  if (opts.cri) inst.criNetwork = criNetworkFor(baseDir);
  if (Buffer.byteLength(inst.ttrpcAddress) > 100) {
    fs.rmSync(baseDir, { recursive: true, force: true });
    throw new Error(`starting private containerd: socket path ${inst.ttrpcAddress} is too long for a unix socket`);
  }
  installExitHooks();
  live.add(inst);
  try {
    await inst.start(opts.startTimeoutMs ?? 20_000, opts.logLevel ?? 'debug', opts.extraConfig ?? '', opts.shimBinDir ?? SHIM_BIN_DIR);
  } catch (err) {
    await inst.stop().catch(() => undefined);
    throw err;
  }
  return inst;
}
