// `make bench`: runsc-ts side by side with runc on one private containerd, in one run, printed as
// medians and ratios (only ratios measured together mean anything across machines).
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Containerd, REPO_DIR, RUNC_RUNTIME, RUNSC_TS_RUNTIME, startContainerd } from '../integration/containerd';
import { CriClient } from '../integration/cri';
import { PodRunner } from '../integration/cri-pods';
import { BUSYBOX_IMAGE, importCriImages, importImage, tar, TarEntry } from '../integration/image';
import { ENABLE_URING, TapTest, uniqueId, waitFor, withFuseUring } from '../integration/helpers';
import { buildStatic, installProbe, installStatic, STATIC_FLAGS } from '../integration/probe';

const RUNS = Number(process.env.BENCH_RUNS || 10);
/** FS_RUNS is how many containers per runtime the file-system rows take the median of. */
const FS_RUNS = Number(process.env.BENCH_FS_RUNS || 5);
const IDLE_MAX = 10;

interface Row {
  name: string;
  unit: string;
  runc: number;
  runscTs: number;
  target?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timed(f: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function mustCtr(cd: Containerd, args: string[]): Promise<string> {
  const r = await cd.ctr(args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`ctr ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** runRm times `ctr run --rm IMAGE id true`. */
async function runRm(cd: Containerd, runtime: string): Promise<number> {
  const id = uniqueId('bench-rm');
  return timed(() => mustCtr(cd, ['run', '--rm', '--runtime', runtime, BUSYBOX_IMAGE, id, 'true']).then(() => undefined));
}

async function removeTask(cd: Containerd, id: string): Promise<void> {
  await cd.ctr(['task', 'kill', '-s', '9', id], { timeoutMs: 20_000 });
  await waitFor(() => cd.ctr(['task', 'delete', id], { timeoutMs: 20_000 }), (r) => r.code === 0 || /not found/.test(r.stderr), 10_000, 50);
  await cd.ctr(['container', 'delete', id], { timeoutMs: 20_000 });
}

/** runDetached times `ctr run -d` until the task is RUNNING, then times an exec of `true`. */
async function runDetachedAndExec(cd: Containerd, runtime: string): Promise<[number, number]> {
  const id = uniqueId('bench-d');
  try {
    const start = await timed(async () => {
      await mustCtr(cd, ['run', '-d', '--runtime', runtime, BUSYBOX_IMAGE, id, 'sleep', '1000']);
      await waitFor(() => cd.ctr(['task', 'ls']), (r) => new RegExp(`^${id}\\s+\\d+\\s+RUNNING`, 'm').test(r.stdout), 10_000, 5);
    });
    const exec = await timed(() => mustCtr(cd, ['task', 'exec', '--exec-id', 'x', id, 'true']).then(() => undefined));
    return [start, exec];
  } finally {
    await removeTask(cd, id);
  }
}

function pss(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * runtimePids lists the processes of a runtime by name: without warm, those that are not warm
 * shims (command line ending in " zygote", one per containerd); with warm, only the warm shims.
 */
function runtimePids(names: string[], warm = false): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      if (names.some((n) => cmd.split(' ').slice(0, 2).join(' ').includes(n)) && cmd.endsWith(' zygote') === warm) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * runtimePss sums the PSS (kB) of a runtime's processes, its warm shims included. A warm shim
 * forks every serving shim, which then shares the warm shim's pages copy-on-write, and PSS
 * splits each shared page evenly among the processes mapping it: with k serving shims, each of
 * them and the warm shim is charged 1/(k+1) of those pages. Leaving the warm shim out would
 * drop 1/2 of them at 1 container but only 1/11 at 10, so the shared pages' PSS would seem to
 * move onto the serving shims as their number grows and inflate the marginal figure. Counted
 * at both points, the total is the runtime's whole cost and the difference the true marginal one.
 */
function runtimePss(names: string[]): number {
  return [...runtimePids(names), ...runtimePids(names, true)].reduce((s, p) => s + pss(p), 0);
}

/** idlePss starts n idle containers and returns the runtime's total PSS (kB, runtimePss) with them running. */
async function idlePss(cd: Containerd, runtime: string, n: number, names: string[]): Promise<number> {
  const ids: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const id = uniqueId('bench-idle');
      ids.push(id);
      await mustCtr(cd, ['run', '-d', '--runtime', runtime, BUSYBOX_IMAGE, id, 'sleep', '1000']);
    }
    await new Promise((r) => setTimeout(r, 1500)); // let start-up garbage settle
    return runtimePss(names);
  } finally {
    for (const id of ids) await removeTask(cd, id);
  }
}

// Teardowns is the part of a tap test PodRunner needs: a list of clean-ups, run by finish().
class Teardowns {
  private readonly fns: (() => Promise<void> | void)[] = [];
  teardown(fn: () => Promise<void> | void): void {
    this.fns.push(fn);
  }
  async finish(): Promise<void> {
    for (const f of this.fns.splice(0).reverse()) await f();
  }
}

/** podStart times RunPodSandbox until both of the pod's 2 containers run, then removes the pod. */
async function podStart(runner: PodRunner): Promise<number> {
  const td = new Teardowns();
  try {
    return await timed(async () => {
      const pod = await runner.runPod(td as unknown as TapTest, 'bench-pod');
      await runner.startContainer(pod, 'a', { command: ['sleep', '1000'] });
      await runner.startContainer(pod, 'b', { command: ['sleep', '1000'] });
    });
  } finally {
    await td.finish();
  }
}

/** idlePodsPss runs n idle pods (2 containers each) and returns the runtime's total PSS (kB, runtimePss). */
async function idlePodsPss(runner: PodRunner, n: number, names: string[]): Promise<number> {
  const td = new Teardowns();
  try {
    for (let i = 0; i < n; i++) {
      const pod = await runner.runPod(td as unknown as TapTest, 'bench-idle-pod');
      await runner.startContainer(pod, 'a', { command: ['sleep', '1000'] });
      await runner.startContainer(pod, 'b', { command: ['sleep', '1000'] });
    }
    await new Promise((r) => setTimeout(r, 1500));
    return runtimePss(names);
  } finally {
    await td.finish();
  }
}

const SYSCALL_LOOPS = 1_000_000;

/**
 * platformConfig writes a runtime config file (`ctr run --runtime-config-path`) choosing how
 * runsc-ts's trapped calls reach the sentry, and returns its path.
 */
function platformConfig(cd: Containerd, platform: 'ptrace' | 'unotify'): string {
  return runtimeConfig(cd, `platform-${platform}`, `platform = "${platform}"\n`);
}

/** runtimeConfig writes a runtime config file named after `name` in the base dir and returns its path. */
function runtimeConfig(cd: Containerd, name: string, toml: string): string {
  const file = path.join(cd.baseDir, `bench-${name}.toml`);
  fs.writeFileSync(file, toml);
  return file;
}

/**
 * syscallCosts runs the probe's syscall loop in a container (both the probe and, for runsc-ts,
 * the sentry pinned to CPU 0: a cross-CPU wake-up would cost more than the trap itself) and
 * returns ns per call of getppid (never trapped) and of unshare(0) (trapped under runsc-ts, on
 * the platform the runtime config file names).
 */
async function syscallCosts(cd: Containerd, runtime: string, probeDir: string, runtimeConfig?: string): Promise<{ getppid: number; trapped: number }> {
  const id = uniqueId('bench-sys');
  try {
    const config = runtimeConfig ? ['--runtime-config-path', runtimeConfig] : [];
    await mustCtr(cd, ['run', '-d', '--runtime', runtime, ...config, '--mount', `type=bind,src=${probeDir},dst=/probe,options=rbind:ro`, BUSYBOX_IMAGE, id, 'sleep', '1000']);
    await waitFor(() => cd.ctr(['task', 'ls']), (r) => new RegExp(`^${id}\\s+\\d+\\s+RUNNING`, 'm').test(r.stdout), 10_000, 20);
    if (runtime === RUNSC_TS_RUNTIME) {
      const shim = Number(fs.readFileSync(path.join(cd.stateDir, 'io.containerd.runtime.v2.task', cd.namespace, id, 'shim.pid'), 'utf8'));
      // The sentry traces, and its spawner clones the exec'd probe (which inherits its CPU).
      const children = (pid: string): string[] => fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      for (const child of children(String(shim))) {
        if (!fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('runsc-ts-sentry')) continue;
        execFileSync('taskset', ['-pc', '0', child], { stdio: 'ignore' });
        for (const spawner of children(child)) {
          if (fs.readFileSync(`/proc/${spawner}/comm`, 'utf8').trim() === 'runsc-ts-spawn') execFileSync('taskset', ['-pc', '0', spawner], { stdio: 'ignore' });
        }
      }
    }
    const out = await mustCtr(cd, ['task', 'exec', '--exec-id', 'bench', id, '/probe/escape', 'bench', String(SYSCALL_LOOPS)]);
    const get = (k: string): number => Number(new RegExp(`^${k} ([\\d.]+)$`, 'm').exec(out)?.[1] ?? NaN);
    return { getppid: get('getppid'), trapped: get('trapped') };
  } finally {
    await removeTask(cd, id);
  }
}

/** FSBENCH_SOURCE is the in-container file-system benchmark (see its header). */
const FSBENCH_SOURCE = path.join(REPO_DIR, 'integration', 'probe', 'fsbench.c');

/** FS_SIZES are the file-system rows' loop counts and sizes. */
const FS_SIZES = { statLoops: 200_000, smallReads: 20_000, bigMiB: 256, createFiles: 10_000, tarFiles: 3000 };

/** FS_SCRATCH is the scratch directory in the container's root file system (its overlay snapshot). */
const FS_SCRATCH = '/fsbench-scratch';

/** FsVariant is one column of the file-system rows: a runtime and its runtime config file. */
interface FsVariant {
  label: string;
  runtime: string;
  config?: string;
  /** uring: the host offers FUSE over io_uring while the container starts (its gofer's INIT). */
  uring?: boolean;
}


/** FsResult is one container's file-system figures, in fsbench's units. */
interface FsResult {
  stat: number; // ns per stat
  smallread: number; // ns per open + read 4 KiB + close
  seqwrite: number; // MB/s, fsync included
  seqread: number; // MB/s, warm
  createdelete: number; // µs per file created and deleted
  tar: number; // ms
}

/** FsRow is one file-system row: a figure of FsResult in runc, direct and gofer columns. */
interface FsRow {
  name: string;
  unit: string;
  key: keyof FsResult;
  target?: string;
}

/**
 * tarArchive returns a deterministic uncompressed tar of about 23 MB: FS_SIZES.tarFiles files
 * in 50 directories, mostly small (0.5-4 KiB), some of 4-16 KiB, a few of 32-128 KiB and two of
 * 1 MiB, their contents slices of a 4 MiB pool of SHA-256 output (incompressible).
 */
function tarArchive(): Buffer {
  const pool = Buffer.alloc(4 << 20);
  for (let i = 0; i < pool.length / 32; i++) crypto.createHash('sha256').update(`runsc-ts fsbench ${i}`).digest().copy(pool, i * 32);
  let x = 0x2545f491; // xorshift32: the sizes are the same on every run
  const rand = (lo: number, hi: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return lo + ((x >>> 0) % (hi - lo));
  };
  const dirs = 50;
  const entries: TarEntry[] = [{ name: 'tree', type: 'dir', mode: 0o755 }];
  for (let d = 0; d < dirs; d++) entries.push({ name: `tree/d${d}`, type: 'dir', mode: 0o755 });
  for (let i = 0; i < FS_SIZES.tarFiles; i++) {
    const kind = rand(0, 100);
    const size = i < 2 ? 1 << 20 : kind < 75 ? rand(512, 4096) : kind < 97 ? rand(4096, 16384) : rand(32768, 131072);
    const off = rand(0, pool.length - size);
    entries.push({ name: `tree/d${i % dirs}/f${i}`, type: 'file', mode: 0o644, data: pool.subarray(off, off + size) });
  }
  return tar(entries);
}

/**
 * installFsbench puts fsbench and the tar archive in <dir>/fsbench (bind-mounted read-only at
 * /fsbench) and returns that directory and the archive's size in bytes.
 */
function installFsbench(dir: string): { dir: string; tarBytes: number } {
  const target = installStatic(buildStatic(FSBENCH_SOURCE, STATIC_FLAGS, 'fsbench'), dir, 'fsbench', 'fsbench');
  const archive = tarArchive();
  fs.writeFileSync(path.join(target, 'tree.tar'), archive);
  return { dir: target, tarBytes: archive.length };
}

/**
 * fsCosts runs the fsbench subcommands one after the other in one fresh container of `variant`
 * (fsbench bound read-only at /fsbench; the scratch directory in the container's root file
 * system, removed with the container) and returns the figures.
 */
async function fsCosts(cd: Containerd, variant: FsVariant, fsbenchDir: string): Promise<FsResult> {
  const id = uniqueId('bench-fs');
  try {
    const config = variant.config ? ['--runtime-config-path', variant.config] : [];
    const start = async (): Promise<void> => {
      await mustCtr(cd, ['run', '-d', '--runtime', variant.runtime, ...config, '--mount', `type=bind,src=${fsbenchDir},dst=/fsbench,options=rbind:ro`, BUSYBOX_IMAGE, id, 'sleep', '1000']);
      await waitFor(() => cd.ctr(['task', 'ls']), (r) => new RegExp(`^${id}\\s+\\d+\\s+RUNNING`, 'm').test(r.stdout), 10_000, 20);
    };
    await (variant.uring ? withFuseUring(start) : start());
    let n = 0;
    const run = async (...args: string[]): Promise<number> => {
      const r = await cd.ctr(['task', 'exec', '--exec-id', `fs${n++}`, id, '/fsbench/fsbench', ...args], { timeoutMs: 120_000 });
      const v = Number(r.stdout.trim());
      if (r.code !== 0 || r.stdout.trim() === '' || !Number.isFinite(v)) throw new Error(`fsbench ${args.join(' ')} (${variant.label}): exit ${r.code}: ${r.stdout.trim()} ${r.stderr.trim()}`);
      return v;
    };
    await mustCtr(cd, ['task', 'exec', '--exec-id', 'mkdir', id, 'mkdir', '-p', FS_SCRATCH]);
    const big = `${FS_SCRATCH}/big`;
    return {
      stat: await run('stat', '/', String(FS_SIZES.statLoops)),
      smallread: await run('smallread', `${FS_SCRATCH}/small`, String(FS_SIZES.smallReads)),
      seqwrite: await run('seqwrite', big, String(FS_SIZES.bigMiB)),
      seqread: await run('seqread', big, String(FS_SIZES.bigMiB)),
      tar: await run('tar', '/fsbench/tree.tar', `${FS_SCRATCH}/tar`),
      // Last: it makes the most names come and go, and whatever that leaves in the runtime's
      // caches (a gofer prunes its node table past a high-water mark) stays out of the others.
      createdelete: await run('createdelete', `${FS_SCRATCH}/many`, String(FS_SIZES.createFiles)),
    };
  } finally {
    await removeTask(cd, id);
  }
}

function fmt(n: number, unit: string): string {
  if (unit === 'MB') return `${(n / 1024).toFixed(1)} MB`;
  if (unit === 'MB/s') return `${n.toFixed(0)} MB/s`;
  if (unit === 'µs') return `${n.toFixed(1)} µs`;
  if (unit === 'ns') return n >= 10_000 ? `${(n / 1000).toFixed(1)} µs` : `${n.toFixed(0)} ns`;
  return `${n.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  // At containerd's usual log level (info), as on a node: at debug the sentry would also log
  // every trapped call, and each shim every request.
  const cd = await startContainerd({ label: 'bench', cri: true, logLevel: 'info' });
  const cri = new CriClient(cd.address);
  try {
    await importImage(cd);
    await importCriImages(cd);
    const rm = { runc: [] as number[], ts: [] as number[] };
    const det = { runc: [] as number[], ts: [] as number[] };
    const ex = { runc: [] as number[], ts: [] as number[] };
    // Warm both paths once, then interleave so drift hits both runtimes alike.
    await runRm(cd, RUNC_RUNTIME);
    await runRm(cd, RUNSC_TS_RUNTIME);
    for (let i = 0; i < RUNS; i++) {
      rm.runc.push(await runRm(cd, RUNC_RUNTIME));
      rm.ts.push(await runRm(cd, RUNSC_TS_RUNTIME));
      const [a, b] = await runDetachedAndExec(cd, RUNC_RUNTIME);
      det.runc.push(a);
      ex.runc.push(b);
      const [c, d] = await runDetachedAndExec(cd, RUNSC_TS_RUNTIME);
      det.ts.push(c);
      ex.ts.push(d);
    }
    const runcNames = ['containerd-shim-runc-v2'];
    // Shims, sentries and the containers' gofers: the runtime's processes (issue 5's target is
    // "shim + sentry + gofers"); runtimePss adds the warm shims.
    const tsNames = ['containerd-shim-runsc-ts-v1', 'runsc-ts-sentry', 'runsc-ts-gofer'];
    const runc1 = await idlePss(cd, RUNC_RUNTIME, 1, runcNames);
    const runcN = await idlePss(cd, RUNC_RUNTIME, IDLE_MAX, runcNames);
    const ts1 = await idlePss(cd, RUNSC_TS_RUNTIME, 1, tsNames);
    const tsN = await idlePss(cd, RUNSC_TS_RUNTIME, IDLE_MAX, tsNames);
    const warm = runtimePids(['containerd-shim-runsc-ts-v1'], true).reduce((sum, p) => sum + pss(p), 0);
    const probeDir = installProbe(cd.baseDir);
    const sysRunc = await syscallCosts(cd, RUNC_RUNTIME, probeDir);
    const sysTs = await syscallCosts(cd, RUNSC_TS_RUNTIME, probeDir, platformConfig(cd, 'ptrace'));
    const sysTsUnotify = await syscallCosts(cd, RUNSC_TS_RUNTIME, probeDir, platformConfig(cd, 'unotify'));
    // File-system rows: runc; runsc-ts with file-access = "direct" (host directories bound as
    // they are, like runc); runsc-ts by default (the gofer serves the image, read-only, under the
    // snapshot's writable layer: overlay = "snapshot"); the gofer serving every read and write
    // (overlay = "none"), also over FUSE io_uring; and the gofer under a memory upper layer.
    // One short-lived container per runtime and run; the order rotates from run to run, so
    // what one container leaves behind (writeback, a deleted snapshot) hits each alike.
    const fsb = installFsbench(cd.baseDir);
    const goferOnly = runtimeConfig(cd, 'overlay-none', 'overlay = "none"\n');
    const fsVariants: FsVariant[] = [
      { label: 'runc', runtime: RUNC_RUNTIME },
      { label: 'direct', runtime: RUNSC_TS_RUNTIME, config: runtimeConfig(cd, 'file-access-direct', 'file-access = "direct"\n') },
      { label: 'runsc-ts', runtime: RUNSC_TS_RUNTIME },
      { label: 'gofer', runtime: RUNSC_TS_RUNTIME, config: goferOnly },
      // The same gofer where the host enables FUSE over io_uring (docs/OPERATIONS.md).
      ...(fs.existsSync(ENABLE_URING) ? [{ label: 'io_uring', runtime: RUNSC_TS_RUNTIME, config: goferOnly, uring: true }] : []),
      // The gofer under a tmpfs upper layer (room for the large file).
      { label: 'memory', runtime: RUNSC_TS_RUNTIME, config: runtimeConfig(cd, 'overlay-memory', 'overlay = "memory"\noverlay-size = "1Gi"\n') },
    ];
    const fsRuns: FsResult[][] = fsVariants.map(() => []);
    for (let i = 0; i < FS_RUNS; i++) {
      for (let k = 0; k < fsVariants.length; k++) {
        const v = (i + k) % fsVariants.length;
        fsRuns[v].push(await fsCosts(cd, fsVariants[v], fsb.dir));
      }
    }
    const fsMedian = (v: number, key: keyof FsResult): number => median(fsRuns[v].map((r) => r[key]));
    const pods = { runc: [] as number[], ts: [] as number[] };
    const runcPods = new PodRunner(cd, cri, 'runc');
    const tsPods = new PodRunner(cd, cri, 'runsc-ts');
    await podStart(runcPods);
    await podStart(tsPods);
    for (let i = 0; i < Math.max(3, RUNS >> 1); i++) {
      pods.runc.push(await podStart(runcPods));
      pods.ts.push(await podStart(tsPods));
    }
    const runcPod1 = await idlePodsPss(runcPods, 1, runcNames);
    const runcPodN = await idlePodsPss(runcPods, IDLE_MAX, runcNames);
    const tsPod1 = await idlePodsPss(tsPods, 1, tsNames);
    const tsPodN = await idlePodsPss(tsPods, IDLE_MAX, tsNames);
    const rows: Row[] = [
      { name: 'ctr run --rm busybox true', unit: 'ms', runc: median(rm.runc), runscTs: median(rm.ts), target: '≤ 1.25×' },
      { name: 'ctr run -d until RUNNING', unit: 'ms', runc: median(det.runc), runscTs: median(det.ts), target: '≤ 1.25×' },
      { name: 'ctr task exec true', unit: 'ms', runc: median(ex.runc), runscTs: median(ex.ts), target: '≤ 1.25×' },
      { name: 'PSS of runtime, 1 idle container', unit: 'MB', runc: runc1, runscTs: ts1 },
      { name: `PSS of runtime, ${IDLE_MAX} idle containers`, unit: 'MB', runc: runcN, runscTs: tsN },
      { name: 'PSS of the warm shims (once per containerd)', unit: 'MB', runc: 0, runscTs: warm },
      { name: 'marginal PSS per idle container', unit: 'MB', runc: (runcN - runc1) / (IDLE_MAX - 1), runscTs: (tsN - ts1) / (IDLE_MAX - 1), target: '≤ 12 MB' },
      { name: 'getppid in the container (never trapped)', unit: 'ns', runc: sysRunc.getppid, runscTs: sysTs.getppid, target: '≤ 1.3×' },
      { name: 'unshare(0): trapped (runsc-ts, ptrace) vs native', unit: 'ns', runc: sysRunc.trapped, runscTs: sysTs.trapped, target: '≤ 15 µs' },
      { name: 'unshare(0): trapped (runsc-ts, unotify) vs native', unit: 'ns', runc: sysRunc.trapped, runscTs: sysTsUnotify.trapped, target: '≤ 5 µs' },
      { name: 'pod of 2 containers: RunPodSandbox to both running', unit: 'ms', runc: median(pods.runc), runscTs: median(pods.ts), target: '≤ 1.25×' },
      { name: `marginal PSS per idle pod (2 containers), at ${IDLE_MAX}`, unit: 'MB', runc: (runcPodN - runcPod1) / (IDLE_MAX - 1), runscTs: (tsPodN - tsPod1) / (IDLE_MAX - 1), target: '≤ 12 MB' },
    ];
    const w = Math.max(...rows.map((r) => r.name.length));
    console.log(`\nrunsc-ts vs runc (medians of ${RUNS} interleaved runs; same machine, same containerd)\n`);
    console.log(`${'measure'.padEnd(w)}  ${'runc'.padStart(10)}  ${'runsc-ts'.padStart(10)}  ${'ratio'.padStart(7)}  target`);
    for (const r of rows) {
      const ratio = r.runc > 0 ? `${(r.runscTs / r.runc).toFixed(2)}×` : '-';
      console.log(`${r.name.padEnd(w)}  ${fmt(r.runc, r.unit).padStart(10)}  ${fmt(r.runscTs, r.unit).padStart(10)}  ${ratio.padStart(7)}  ${r.target ?? ''}`);
    }
    // Ratios are runsc-ts / runc, for times and throughputs alike (a throughput wants ≥ 1, a
    // time ≤ 1); the targets are for the default, the runsc-ts column.
    const fsRows: FsRow[] = [
      { name: 'stat() of image files (/bin/busybox, /etc/passwd, ...)', unit: 'ns', key: 'stat', target: '≤ 2×' },
      { name: 'open + read 4 KiB + close (64 files, warm)', unit: 'ns', key: 'smallread' },
      { name: `sequential write ${FS_SIZES.bigMiB} MiB (1 MiB writes, fsync)`, unit: 'MB/s', key: 'seqwrite', target: '≥ 0.9×' },
      { name: `sequential read ${FS_SIZES.bigMiB} MiB (1 MiB reads, warm cache)`, unit: 'MB/s', key: 'seqread', target: '≥ 0.9×' },
      // Creating files costs what the host file system's recent past makes it cost: ext4
      // without a journal passes over every inode of the group deleted in the last minute (5
      // while its table block is unwritten) on each create, so runc's figure here can swing
      // several-fold between runs; the gofer's extra cost per file is the difference.
      { name: `create then delete ${FS_SIZES.createFiles} empty files, per file`, unit: 'µs', key: 'createdelete', target: '≤ 3×' },
      { name: `tar -xf ${(fsb.tarBytes / 1e6).toFixed(0)} MB, ${FS_SIZES.tarFiles} files (busybox)`, unit: 'ms', key: 'tar' },
    ];
    const fw = Math.max(...fsRows.map((r) => r.name.length));
    const ratioOf = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
    console.log(`\nfile system in the container's root (its snapshot), medians of ${FS_RUNS} containers per column; ratios vs runc\n`);
    console.log(`${'measure'.padEnd(fw)}  ${fsVariants.map((v, i) => `${v.label.padStart(10)}${i > 0 ? `  ${'ratio'.padStart(6)}` : ''}`).join('  ')}  target (runsc-ts)`);
    for (const r of fsRows) {
      const [runc, ...others] = fsVariants.map((_, v) => fsMedian(v, r.key));
      const cells = others.map((x) => `${fmt(x, r.unit).padStart(10)}  ${ratioOf(x, runc).padStart(6)}`);
      console.log(`${r.name.padEnd(fw)}  ${fmt(runc, r.unit).padStart(10)}  ${cells.join('  ')}  ${r.target ?? ''}`);
    }
    console.log('\ndirect = runsc-ts with file-access = "direct" (no gofer)');
    console.log('runsc-ts = the default: the gofer serves the image\'s layers read-only, the container\'s writes go to its snapshot (overlay = "snapshot")');
    console.log('gofer = the gofer serves every read and write of the root (overlay = "none")');
    if (fsVariants.some((v) => v.uring)) console.log('io_uring = that gofer over FUSE io_uring (enable_uring set for its start only, then put back)');
    console.log('memory = the gofer under a memory-backed upper layer (overlay = "memory"): writes stay in the sandbox');
  } finally {
    cri.close();
    await cd.stop();
  }
}

main().catch((err) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
