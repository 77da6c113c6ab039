// `make bench`: runsc-ts side by side with runc on one private containerd, in one run, printed as
// medians and ratios (only ratios measured together mean anything across machines).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Containerd, RUNC_RUNTIME, RUNSC_TS_RUNTIME, startContainerd } from '../integration/containerd';
import { CriClient } from '../integration/cri';
import { PodRunner } from '../integration/cri-pods';
import { BUSYBOX_IMAGE, importCriImages, importImage } from '../integration/image';
import { TapTest, uniqueId, waitFor } from '../integration/helpers';
import { installProbe } from '../integration/probe';

const RUNS = Number(process.env.BENCH_RUNS || 10);
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
 * runtimePids lists the processes of a runtime by name. Warm shims (command line ending in
 * "zygote") serve the whole containerd, not a container: they are counted only when asked for.
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

/** idlePss starts n idle containers and returns the runtime's total PSS (kB) with them running. */
async function idlePss(cd: Containerd, runtime: string, n: number, names: string[]): Promise<number> {
  const ids: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const id = uniqueId('bench-idle');
      ids.push(id);
      await mustCtr(cd, ['run', '-d', '--runtime', runtime, BUSYBOX_IMAGE, id, 'sleep', '1000']);
    }
    await new Promise((r) => setTimeout(r, 1500)); // let start-up garbage settle
    return runtimePids(names).reduce((s, p) => s + pss(p), 0);
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

/** idlePodsPss runs n idle pods (2 containers each) and returns the runtime's total PSS (kB). */
async function idlePodsPss(runner: PodRunner, n: number, names: string[]): Promise<number> {
  const td = new Teardowns();
  try {
    for (let i = 0; i < n; i++) {
      const pod = await runner.runPod(td as unknown as TapTest, 'bench-idle-pod');
      await runner.startContainer(pod, 'a', { command: ['sleep', '1000'] });
      await runner.startContainer(pod, 'b', { command: ['sleep', '1000'] });
    }
    await new Promise((r) => setTimeout(r, 1500));
    return runtimePids(names).reduce((s, p) => s + pss(p), 0);
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
  const file = path.join(cd.baseDir, `bench-platform-${platform}.toml`);
  fs.writeFileSync(file, `platform = "${platform}"\n`);
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
      for (const child of fs.readFileSync(`/proc/${shim}/task/${shim}/children`, 'utf8').trim().split(/\s+/)) {
        if (fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('runsc-ts-sentry')) execFileSync('taskset', ['-pc', '0', child], { stdio: 'ignore' });
      }
    }
    const out = await mustCtr(cd, ['task', 'exec', '--exec-id', 'bench', id, '/probe/escape', 'bench', String(SYSCALL_LOOPS)]);
    const get = (k: string): number => Number(new RegExp(`^${k} ([\\d.]+)$`, 'm').exec(out)?.[1] ?? NaN);
    return { getppid: get('getppid'), trapped: get('trapped') };
  } finally {
    await removeTask(cd, id);
  }
}

function fmt(n: number, unit: string): string {
  if (unit === 'MB') return `${(n / 1024).toFixed(1)} MB`;
  if (unit === 'ns') return n >= 10_000 ? `${(n / 1000).toFixed(1)} µs` : `${n.toFixed(0)} ns`;
  return `${n.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const cd = await startContainerd({ label: 'bench', cri: true });
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
    const tsNames = ['containerd-shim-runsc-ts-v1', 'runsc-ts-sentry'];
    const runc1 = await idlePss(cd, RUNC_RUNTIME, 1, runcNames);
    const runcN = await idlePss(cd, RUNC_RUNTIME, IDLE_MAX, runcNames);
    const ts1 = await idlePss(cd, RUNSC_TS_RUNTIME, 1, tsNames);
    const tsN = await idlePss(cd, RUNSC_TS_RUNTIME, IDLE_MAX, tsNames);
    const warm = runtimePids(['containerd-shim-runsc-ts-v1'], true).reduce((sum, p) => sum + pss(p), 0);
    const probeDir = installProbe(cd.baseDir);
    const sysRunc = await syscallCosts(cd, RUNC_RUNTIME, probeDir);
    const sysTs = await syscallCosts(cd, RUNSC_TS_RUNTIME, probeDir, platformConfig(cd, 'ptrace'));
    const sysTsUnotify = await syscallCosts(cd, RUNSC_TS_RUNTIME, probeDir, platformConfig(cd, 'unotify'));
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
  } finally {
    cri.close();
    await cd.stop();
  }
}

main().catch((err) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
