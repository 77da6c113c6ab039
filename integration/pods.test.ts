// The multi-container behaviours of one pod (gVisor runsc's multi-container matrix) through the
// CRI, and `ctr -n k8s.io task ...` where the CRI has no call: sandbox-wide PIDs, per-container
// process lists, waiting on one container, signalling one, kill-all containing a fork bomb,
// removing one, and the pause's death ending the pod. RUNSC_TS_CRI_HANDLER=runc runs them
// against runc, to check the tests themselves.
import * as fs from 'fs';
import * as path from 'path';
import t from 'tap';
import { CRI_NAMESPACE, RunResult } from './containerd';
import { isNotFound, runtime } from './cri';
import { CRI_HANDLER, Pod, elapsed, logPathOf, readLog, text, useCriHarness } from './cri-pods';
import { TapTest, leakCheck, output, parsePs, sleep, waitFor } from './helpers';
import { leakedProcesses, mountsUnder, programOf } from './leftovers';
import v1 = runtime.v1;

const NOTHING_LEFT = 'nothing left over';
const SENTRY = 'runsc-ts-sentry';
const RUNNING = v1.ContainerState.CONTAINER_RUNNING;
const EXITED = v1.ContainerState.CONTAINER_EXITED;

/** onlyRunscTs marks behaviours of the runsc-ts sandbox (one sentry, sandbox-wide PIDs) that runc does not share. */
const onlyRunscTs = (why: string): { skip: string | false } => ({ skip: CRI_HANDLER !== 'runsc-ts' ? `runsc-ts only: ${why}` : false });

t.setTimeout(900_000);

const harness = useCriHarness(t, `pods-${CRI_HANDLER}`);

// ---- host-side views of a pod ----

// The host process `pid` as ps would name it ('' once it is gone or a zombie).
function cmdlineOf(pid: number): string {
  try {
    if (/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'))) return '';
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').split('\0').join(' ');
  } catch {
    return '';
  }
}

// The host parent pid of `pid` (0 if it is gone).
function ppidOf(pid: number): number {
  try {
    const m = /\) \S+ (\d+)/.exec(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

// A field of /proc/<pid>/status (e.g. TracerPid), '' if the process is gone.
function statusField(pid: number, field: string): string {
  try {
    const m = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? m[1].trim() : '';
  } catch {
    return '';
  }
}

/** TaskPs is `ctr -n k8s.io task ps ID`: whether it answered, the host pids it listed, the raw result. */
interface TaskPs {
  ok: boolean;
  pids: number[];
  result: RunResult;
}

// Lists the host pids of one container's processes, as containerd asks the shim (Pids).
async function taskPs(id: string): Promise<TaskPs> {
  const result = await harness().cd.ctrNs(CRI_NAMESPACE, ['task', 'ps', id], { timeoutMs: 20_000 });
  return { ok: result.code === 0, pids: result.code === 0 ? parsePs(result.stdout) : [], result };
}

// The CRI's verbose info of a container or pod: its host pid and the runtime spec's cgroups path.
interface HostInfo {
  pid: number;
  cgroupsPath: string;
}

function parseInfo(info: string | undefined): HostInfo {
  try {
    const j = JSON.parse(info ?? '{}') as { pid?: number; runtimeSpec?: { linux?: { cgroupsPath?: string } } };
    return { pid: j.pid ?? 0, cgroupsPath: j.runtimeSpec?.linux?.cgroupsPath ?? '' };
  } catch {
    return { pid: 0, cgroupsPath: '' };
  }
}

async function containerInfo(id: string): Promise<HostInfo> {
  return parseInfo((await harness().cri.containerStatus(id, true)).info?.info);
}

async function podInfo(podId: string): Promise<HostInfo> {
  return parseInfo((await harness().cri.podSandboxStatus(podId, true)).info?.info);
}

// The host pids in a container's cgroup (pids hierarchy; [] once the cgroup is gone).
function cgroupProcs(cgroupsPath: string): number[] {
  const base = fs.existsSync('/sys/fs/cgroup/pids') ? '/sys/fs/cgroup/pids' : '/sys/fs/cgroup';
  try {
    return fs
      .readFileSync(path.join(base, cgroupsPath, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
  } catch {
    return [];
  }
}

// The sentries tied to this containerd, by pid (warm shims are never sentries).
function sentries(): number[] {
  return runtimeProcesses(SENTRY);
}

// The processes tied to this containerd whose executable is named name, by pid.
function runtimeProcesses(name: string): number[] {
  const { cd } = harness();
  return leakedProcesses(cd.baseDir, [cd.pid])
    .filter((p) => programOf(p) === name)
    .map((p) => p.pid);
}

// The gofers tied to this containerd (one per container of a runsc-ts pod), by pid.
function gofers(): number[] {
  return runtimeProcesses('runsc-ts-gofer');
}

// ---- the view from inside ----

/** PsRow is one line of `ps -o pid,ppid,args` run inside a container (sandbox pids). */
interface PsRow {
  pid: number;
  ppid: number;
  args: string;
}

// Runs ps in container `id` and returns its rows, without the ps process itself.
async function psInside(id: string): Promise<{ rows: PsRow[]; raw: string }> {
  const r = await harness().cri.execSync(id, ['ps', '-o', 'pid,ppid,args'], 20);
  const raw = text(r.stdout) + text(r.stderr);
  const rows: PsRow[] = [];
  for (const line of text(r.stdout).split('\n').slice(1)) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*?)\s*$/.exec(line);
    if (m && !m[3].startsWith('ps ')) rows.push({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] });
  }
  return { rows, raw };
}

// Waits for a line "pid=N" in container `name`'s log and returns N (0 if none came).
async function loggedPid(pod: Pod, name: string, timeoutMs = 20_000): Promise<number> {
  const file = logPathOf(pod, name);
  const log = await waitFor(() => readLog(file), (s) => /stdout F pid=\d+$/m.test(s), timeoutMs, 100);
  const m = /stdout F pid=(\d+)$/m.exec(log);
  return m ? Number(m[1]) : 0;
}

// Starts container `name` and waits until it is RUNNING.
async function startRunning(t: TapTest, pod: Pod, name: string, command: string[], sharePid = false): Promise<string> {
  const { pods } = harness();
  const id = await pods.startContainer(pod, name, { command }, { sharePid });
  const st = await pods.waitState(id, RUNNING);
  t.equal(st?.state, RUNNING, `${name} is RUNNING`, { status: st });
  return id;
}

// Waits until every pid in `pids` is gone from the host (or `timeoutMs` passes); returns the live ones.
function waitGone(pids: number[], timeoutMs = 20_000): Promise<number[]> {
  return waitFor(() => pids.filter((p) => cmdlineOf(p) !== ''), (live) => live.length === 0, timeoutMs, 100);
}

const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y);

// ---- the behaviours ----

t.test('sandbox-wide PIDs: with shareProcessNamespace the pause is PID 1 and containers take the next PIDs; task ps is per container', { timeout: 240_000 }, async (t) => {
  const { cri, pods } = harness();
  const pod = await pods.runPod(t, 'pids', { sharePid: true });
  const c1 = await startRunning(t, pod, 'c1', ['sh', '-c', 'echo pid=$$; exec sleep 1001'], true);
  const p1 = await loggedPid(pod, 'c1');
  // 'while' keeps the sh around, so c2 has two processes: sh and its sleep.
  const c2 = await startRunning(t, pod, 'c2', ['sh', '-c', 'echo pid=$$; while true; do sleep 1002; done'], true);
  const p2 = await loggedPid(pod, 'c2');
  t.ok(p1 > 1 && p2 > p1, `echo $$ gives later PIDs to later containers: c1 ${p1}, c2 ${p2}`);
  // runc's own init stages take PIDs in the namespace too (c1 gets 7 there); the sentry hands out
  // the next sandbox PIDs, as gVisor does.
  t.same([p1, p2], [2, 3], 'the first container after the pause is PID 2, the second PID 3', onlyRunscTs('runc init takes PIDs in between'));

  const inside = await waitFor(() => psInside(c1), (p) => p.rows.some((r) => r.args === 'sleep 1002'), 10_000, 200);
  const child = inside.rows.find((r) => r.args === 'sleep 1002')?.pid ?? 0;
  t.same(
    inside.rows,
    [
      { pid: 1, ppid: 0, args: '/pause' },
      { pid: p1, ppid: 0, args: 'sleep 1001' },
      { pid: p2, ppid: 0, args: 'sh -c echo pid=$$; while true; do sleep 1002; done' },
      { pid: child, ppid: p2, args: 'sleep 1002' },
    ],
    "ps inside c1 sees the pause as PID 1, c1, c2 and c2's child (parent c2), nothing else",
    { ps: inside.raw },
  );
  t.ok(child > p2, `c2's child has a later PID (${child})`);
  t.equal(child, 4, "c2's child is PID 4", { ...onlyRunscTs('runc init takes PIDs in between'), ps: inside.raw });

  const pause = (await podInfo(pod.id)).pid;
  const h1 = (await containerInfo(c1)).pid;
  const h2 = (await containerInfo(c2)).pid;
  t.ok(pause > 1 && h1 > 1 && h2 > 1, `the CRI reports host pids: pause ${pause}, c1 ${h1}, c2 ${h2}`);
  const ps1 = await taskPs(c1);
  t.ok(ps1.ok, 'ctr task ps c1 answers', output(ps1.result));
  t.same(ps1.pids, [h1], "ctr task ps c1 lists exactly c1's init, by host pid", output(ps1.result));
  t.equal(cmdlineOf(h1), 'sleep 1001', `host pid ${h1} is c1's sleep 1001`);
  const ps2 = await waitFor(() => taskPs(c2), (p) => p.pids.length === 2, 10_000, 200);
  t.equal(ps2.pids.length, 2, 'ctr task ps c2 lists two processes', output(ps2.result));
  t.ok(ps2.pids.includes(h2), `one is c2's init (host pid ${h2})`, output(ps2.result));
  const hostChild = ps2.pids.find((p) => p !== h2) ?? 0;
  t.equal(cmdlineOf(hostChild), 'sleep 1002', `the other (host pid ${hostChild}) is c2's sleep 1002`);
  t.equal(ppidOf(hostChild), h2, "whose host parent is c2's init");
  t.notOk([...ps1.pids, ...ps2.pids].includes(pause), `neither lists the pause (host pid ${pause})`);
  t.notOk(ps1.pids.some((p) => ps2.pids.includes(p)), 'the two lists share no pid');

  // An exec'd process belongs to its container: it shows in c2's list only, with a sandbox PID.
  const exec = cri.execSync(c2, ['sleep', '4'], 30).then(
    (r) => r,
    (err: unknown) => err as Error,
  );
  const ps2e = await waitFor(() => taskPs(c2), (p) => p.pids.some((x) => cmdlineOf(x) === 'sleep 4'), 15_000, 200);
  t.equal(ps2e.pids.length, 3, "after ExecSync sleep 4 in c2, ctr task ps c2 lists three processes", output(ps2e.result));
  t.same((await taskPs(c1)).pids, [h1], 'ctr task ps c1 is unchanged');
  const insideE = await psInside(c1);
  const execRow = insideE.rows.find((r) => r.args === 'sleep 4');
  t.ok(execRow && execRow.pid > child, `the exec'd sleep has a later sandbox PID (${execRow?.pid}) and c1 sees it`, { ps: insideE.raw });
  const done = await exec;
  t.equal(done instanceof Error ? done.message : done.exitCode, 0, 'the exec ends with 0');
  const after = await waitFor(() => taskPs(c2), (p) => p.pids.length === 2, 10_000, 200);
  t.same(sorted(after.pids), sorted(ps2.pids), 'and leaves c2 with its two processes', output(after.result));
});

t.test('waiting on one container: it exits with its code while the other keeps running; ExecSync waits for the exec', { timeout: 240_000 }, async (t) => {
  const { cri, pods } = harness();
  const pod = await pods.runPod(t, 'wait');
  const keep = await startRunning(t, pod, 'keep', ['sleep', '1001']);
  const hKeep = (await containerInfo(keep)).pid;
  const short = await pods.startContainer(pod, 'short', { command: ['sh', '-c', 'sleep 1; exit 7'] });
  // Three waiters at once: each sees the exit, with the same code.
  const waits = await Promise.all([1, 2, 3].map(() => pods.waitState(short, EXITED, 30_000)));
  for (const [i, st] of waits.entries()) {
    t.equal(st?.state, EXITED, `waiter ${i + 1}: short is EXITED`, { status: st });
    t.equal(st?.exitCode, 7, `waiter ${i + 1}: with exit code 7`);
  }
  const again = (await cri.containerStatus(short)).status;
  t.equal(again?.exitCode, 7, 'asking again gives the same exit code');
  t.ok(Number(again?.finishedAt ?? 0) > Number(again?.startedAt ?? 0), 'it finished after it started');
  const k = (await cri.containerStatus(keep)).status;
  t.equal(k?.state, RUNNING, 'the other container is still RUNNING');
  t.same((await taskPs(keep)).pids, [hKeep], 'and still has its process');
  t.equal((await cri.podSandboxStatus(pod.id)).status?.state, v1.PodSandboxState.SANDBOX_READY, 'the pod is READY');

  const ex = await elapsed(() => cri.execSync(keep, ['sh', '-c', 'sleep 0.3; exit 5'], 20));
  t.equal(ex.value.exitCode, 5, "ExecSync sh -c 'sleep 0.3; exit 5' returns 5", { stderr: text(ex.value.stderr) });
  t.ok(ex.ms >= 300, `and waited for the exec'd process (${ex.ms} ms)`);
  const ok = await cri.execSync(keep, ['true'], 20);
  t.equal(ok.exitCode, 0, 'a second exec returns 0');
  const left = await waitFor(() => taskPs(keep), (p) => p.pids.length === 1, 10_000, 200);
  t.same(left.pids, [hKeep], 'the exec\'d processes are gone from ctr task ps', output(left.result));
  const dead = await cri.execSync(short, ['true'], 20).then(
    () => 'exec ran',
    (err: unknown) => (err as Error).message,
  );
  t.not(dead, 'exec ran', `ExecSync in the exited container fails (${dead})`);
});

t.test('signalling one container stops only it: SIGKILL, SIGTERM and a TERM trap; the others and the pod keep running', { timeout: 240_000 }, async (t) => {
  const { cri, pods } = harness();
  // A shared pid namespace, so no container init is PID 1 and SIGTERM's default action applies.
  const pod = await pods.runPod(t, 'signal', { sharePid: true });
  const keep = await startRunning(t, pod, 'keep', ['sleep', '1001'], true);
  const hKeep = (await containerInfo(keep)).pid;
  const killed = await startRunning(t, pod, 'killed', ['sleep', '1002'], true);
  const termed = await startRunning(t, pod, 'termed', ['sleep', '1003'], true);
  const trapped = await pods.startContainer(
    pod,
    'trapped',
    { command: ['sh', '-c', "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 1000 & wait $!; done"] },
    { sharePid: true },
  );
  await waitFor(() => readLog(logPathOf(pod, 'trapped')), (s) => / stdout F ready$/m.test(s), 20_000, 100);

  const hard = await elapsed(() => cri.stopContainer(killed, 0));
  const s1 = await pods.waitState(killed, EXITED);
  t.equal(s1?.exitCode, 137, 'StopContainer with timeout 0 kills it: exit code 137', { status: s1 });
  t.ok(hard.ms < 15_000, `at once (${hard.ms} ms)`);

  const soft = await elapsed(() => cri.stopContainer(termed, 30));
  const s2 = await pods.waitState(termed, EXITED);
  t.equal(s2?.exitCode, 143, 'SIGTERM ends a process with no handler: exit code 143', { status: s2 });
  t.ok(soft.ms < 15_000, `before the 30 s timeout (${soft.ms} ms)`);

  const polite = await elapsed(() => cri.stopContainer(trapped, 30));
  const s3 = await pods.waitState(trapped, EXITED);
  t.equal(s3?.exitCode, 0, 'a TERM trap that exits 0 gives exit code 0', { status: s3 });
  t.ok(polite.ms < 15_000, `before the 30 s timeout (${polite.ms} ms)`);

  t.equal((await cri.containerStatus(keep)).status?.state, RUNNING, 'the fourth container is still RUNNING');
  t.same((await taskPs(keep)).pids, [hKeep], 'with its process');
  t.equal(cmdlineOf(hKeep), 'sleep 1001', `host pid ${hKeep} is alive`);
  t.equal((await cri.podSandboxStatus(pod.id)).status?.state, v1.PodSandboxState.SANDBOX_READY, 'the pod is READY');
  const inside = await psInside(keep);
  t.same(
    inside.rows.map((r) => r.args),
    ['/pause', 'sleep 1001'],
    'ps in it shows only the pause and its own process: nothing of the stopped containers',
    { ps: inside.raw },
  );
  const hi = await cri.execSync(keep, ['echo', 'hi'], 20);
  t.equal(text(hi.stdout), 'hi\n', 'and exec in it works');

  await t.resolves(cri.stopContainer(killed, 0), 'stopping a stopped container again is no error');
  const again = await harness().cd.ctrNs(CRI_NAMESPACE, ['task', 'kill', '--signal', 'SIGKILL', killed], { timeoutMs: 20_000 });
  t.not(again.code, 0, 'signalling the stopped container with ctr task kill fails', output(again));
  t.match(again.stderr, /not found|already finished|no running task/i, 'as not found', output(again));
});

// A bounded fork bomb: a binary tree of subshells DEPTH deep whose 2^DEPTH leaves each fork
// PER_LEAF background sleeps as fast as they can: 2^DEPTH - 1 + 2^DEPTH * (PER_LEAF + 1) processes
// at most. Nothing ends by itself, and the leaves are still forking when the kill lands.
const bomb = (depth: number, perLeaf: number): string =>
  `b() { if [ $1 -gt 0 ]; then b $(($1-1)) & b $(($1-1)) & wait; else i=0; while [ $i -lt ${perLeaf} ]; do sleep 1000 & i=$((i+1)); done; wait; fi; }; b ${depth}`;

t.test('kill-all contains a fork bomb: every process of that container dies, the other container keeps all of its own', { timeout: 300_000 }, async (t) => {
  const { cd, cri, pods } = harness();
  // At most 15 + 16 * 101 = 1631 processes in the bomb and 3 + 4 * 51 = 207 in its exec; the pod's
  // pids limit bounds a runaway anyway.
  const pod = await pods.runPod(t, 'bomb', { sharePid: true, pidsLimit: 2500 });
  const keep = await startRunning(t, pod, 'keep', ['sh', '-c', 'while true; do sleep 1001; done'], true);
  const keepPs = await waitFor(() => taskPs(keep), (p) => p.pids.length === 2, 10_000, 200);
  t.equal(keepPs.pids.length, 2, 'the other container has two processes', output(keepPs.result));
  const bombId = await startRunning(t, pod, 'bomb', ['sh', '-c', bomb(4, 100)], true);
  const bombCgroup = (await containerInfo(bombId)).cgroupsPath;
  t.not(bombCgroup, '', `the bomb's cgroup is ${bombCgroup}`);
  // An exec'd bomb too: kill-all must reach exec'd processes as well.
  const exec = cri.execSync(bombId, ['sh', '-c', bomb(2, 50)], 120).then(
    (r) => `exit ${r.exitCode}`,
    (err: unknown) => (err as Error).message,
  );
  const brewing = await waitFor(() => taskPs(bombId), (p) => p.pids.length >= 200, 60_000, 300);
  t.ok(brewing.pids.length >= 200, `the bomb is forking (${brewing.pids.length} processes listed)`);

  const kill = await cd.ctrNs(CRI_NAMESPACE, ['task', 'kill', '--all', '--signal', 'SIGKILL', bombId], { timeoutMs: 30_000 });
  t.equal(kill.code, 0, 'ctr task kill --all --signal SIGKILL succeeds', output(kill));
  const st = await pods.waitState(bombId, EXITED, 30_000);
  t.equal(st?.state, EXITED, 'the bomb container is EXITED', { status: st });
  t.equal(st?.exitCode, 137, 'killed by SIGKILL: 137');
  const after = await waitFor(() => taskPs(bombId), (p) => !p.ok || p.pids.length === 0, 30_000, 300);
  t.same(after.pids, [], 'ctr task ps lists no process of it (or the task is gone)', output(after.result));
  const inCgroup = await waitFor(() => cgroupProcs(bombCgroup), (l) => l.length === 0, 30_000, 300);
  t.same(inCgroup, [], "no host process is left in the bomb's cgroup");
  const stillAlive = await waitGone(brewing.pids, 30_000);
  t.same(stillAlive, [], 'every process listed before the kill is gone from the host');
  const execEnd = await Promise.race([exec, sleep(30_000).then(() => 'still running after 30 s')]);
  t.not(execEnd, 'still running after 30 s', `the exec'd bomb ended too (${execEnd})`);

  const keepNow = await taskPs(keep);
  t.same(sorted(keepNow.pids), sorted(keepPs.pids), "the other container's processes are all still there", output(keepNow.result));
  t.ok(keepPs.pids.every((p) => cmdlineOf(p) !== ''), 'and alive on the host');
  t.equal((await cri.containerStatus(keep)).status?.state, RUNNING, 'it is RUNNING');
  const inside = await psInside(keep);
  t.same(
    inside.rows.map((r) => r.args),
    ['/pause', 'sh -c while true; do sleep 1001; done', 'sleep 1001'],
    'ps in it shows the pause and its own two processes only',
    { ps: inside.raw },
  );
});

t.test('removing one container removes its processes and files while the other keeps running; removing twice is fine', { timeout: 240_000 }, async (t) => {
  const { cd, cri, pods } = harness();
  const pod = await pods.runPod(t, 'remove', { sharePid: true });
  const keep = await startRunning(t, pod, 'keep', ['sleep', '1001'], true);
  const hKeep = (await containerInfo(keep)).pid;
  const gone = await startRunning(t, pod, 'gone', ['sh', '-c', 'sleep 1002 & sleep 1003 & wait'], true);
  const exec = cri.execSync(gone, ['sleep', '1004'], 120).then(
    (r) => `exit ${r.exitCode}`,
    (err: unknown) => (err as Error).message,
  );
  const ps = await waitFor(() => taskPs(gone), (p) => p.pids.length === 4, 15_000, 200);
  t.equal(ps.pids.length, 4, 'the container has four processes (init, two sleeps, an exec)', output(ps.result));
  const bundles = ['state', 'root'].map((d) => path.join(cd.baseDir, d, 'io.containerd.runtime.v2.task', CRI_NAMESPACE, gone));
  const criDirs = ['root', 'state'].map((d) => path.join(cd.baseDir, d, 'io.containerd.grpc.v1.cri', 'containers', gone));
  const rootfs = path.join(bundles[0], 'rootfs');
  t.ok(fs.existsSync(bundles[0]), `its bundle ${bundles[0]} exists`);
  // runc's shim mounts the snapshot on the bundle rootfs; runsc-ts (overlay = "snapshot") mounts
  // it only in the sandbox, as the container's root overlay.
  const initPid = (await containerInfo(gone)).pid;
  const sandboxRoot = fs.existsSync(`/proc/${initPid}/mountinfo`) ? fs.readFileSync(`/proc/${initPid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/') ?? '' : '';
  t.ok(mountsUnder(rootfs).length > 0 || /\soverlay\s.*upperdir=/.test(sandboxRoot), `its rootfs is mounted: on ${rootfs}, or in the sandbox over its snapshot`, { sandboxRoot });

  await cri.removeContainer(gone, 60_000);
  const err = await cri.containerStatus(gone).then(() => undefined, (e: unknown) => e);
  t.ok(isNotFound(err), 'ContainerStatus says NotFound', { err: String(err) });
  const listed = await cri.listContainers({ podSandboxId: pod.id });
  t.same(listed.containers.map((c) => c.id), [keep], 'ListContainers lists only the other container');
  t.same(await waitGone(ps.pids), [], 'every process of it is gone from the host (init, children, exec)');
  const execEnd = await Promise.race([exec, sleep(20_000).then(() => 'still running after 20 s')]);
  t.not(execEnd, 'still running after 20 s', `its ExecSync returned (${execEnd})`);
  const files = await waitFor(
    () => [...bundles, ...criDirs].filter((d) => fs.existsSync(d)).concat(mountsUnder(rootfs)),
    (l) => l.length === 0,
    10_000,
    200,
  );
  t.same(files, [], 'its bundle dirs, CRI dirs and rootfs mount are gone');
  await t.resolves(cri.removeContainer(gone, 60_000), 'RemoveContainer again is no error');

  t.equal((await cri.containerStatus(keep)).status?.state, RUNNING, 'the other container is still RUNNING');
  t.same((await taskPs(keep)).pids, [hKeep], 'with its process');
  const inside = await psInside(keep);
  t.same(inside.rows.map((r) => r.args), ['/pause', 'sleep 1001'], 'ps in it shows nothing of the removed container', { ps: inside.raw });
  t.equal((await cri.podSandboxStatus(pod.id)).status?.state, v1.PodSandboxState.SANDBOX_READY, 'the pod is READY');
});

// Kills the pod's pause from the host and checks that the pod ends with it; `sharePid` picks the
// containers' pid namespace mode.
async function pauseDies(t: TapTest, sharePid: boolean): Promise<void> {
  const { cd, cri, pods } = harness();
  const leaks = leakCheck(cd);
  const sentriesBefore = new Set(sentries());
  const gofersBefore = new Set(gofers());
  const pod = await pods.runPod(t, sharePid ? 'pausedies-shared' : 'pausedies', { sharePid });
  const ids = [
    await startRunning(t, pod, 'c1', ['sleep', '1001'], sharePid),
    await startRunning(t, pod, 'c2', ['sh', '-c', 'while true; do sleep 1002; done'], sharePid),
  ];
  const hosts = [...(await taskPs(ids[0])).pids, ...(await waitFor(() => taskPs(ids[1]), (p) => p.pids.length === 2, 10_000, 200)).pids];
  const pause = (await podInfo(pod.id)).pid;
  // Never signal anything but our own pause: check the pid before killing it.
  const ours = leakedProcesses(cd.baseDir, [cd.pid]).some((p) => p.pid === pause);
  if (!(pause > 1 && cmdlineOf(pause) === '/pause' && ours)) {
    t.fail(`the pod's pause is not host pid ${pause} (cmdline '${cmdlineOf(pause)}', tied to our containerd: ${ours}): not killing it`);
    return;
  }
  const podSentries = sentries().filter((p) => !sentriesBefore.has(p));
  const podGofers = gofers().filter((p) => !gofersBefore.has(p));
  if (CRI_HANDLER === 'runsc-ts') {
    t.equal(podGofers.length, 3, `the pod has a gofer per container, the pause's included (${podGofers.join(', ')})`);
    t.equal(podSentries.length, 1, `the pod has one sentry (${podSentries.join(', ')})`);
    t.equal(statusField(pause, 'TracerPid'), String(podSentries[0]), 'which traces the pause');
  }

  process.kill(pause, 'SIGKILL');
  for (const id of ids) {
    const st = await pods.waitState(id, EXITED, 30_000);
    t.equal(st?.state, EXITED, `${st?.metadata?.name ?? id} is reported EXITED`, { status: st });
  }
  const ready = await waitFor(
    async () => (await cri.podSandboxStatus(pod.id)).status?.state,
    (s) => s === v1.PodSandboxState.SANDBOX_NOTREADY,
    20_000,
    200,
  );
  t.equal(ready, v1.PodSandboxState.SANDBOX_NOTREADY, 'the pod is NOTREADY');
  t.same(await waitGone([pause, ...hosts]), [], 'the pause and every container process are gone from the host');
  if (CRI_HANDLER === 'runsc-ts') {
    const left = await waitFor(() => sentries().filter((p) => podSentries.includes(p)), (l) => l.length === 0, 20_000, 200);
    t.same(left, [], "the pod's sentry ended");
    const goferLeft = await waitFor(() => gofers().filter((p) => podGofers.includes(p)), (l) => l.length === 0, 20_000, 200);
    t.same(goferLeft, [], "the pod's gofers ended (their file systems went with the containers' mount namespaces)");
  }

  await cri.stopPodSandbox(pod.id, 120_000);
  await cri.removePodSandbox(pod.id, 120_000);
  t.equal(await leaks.report(), NOTHING_LEFT, 'after StopPodSandbox and RemovePodSandbox no shim, sentry, process, mount or bundle is left');
}

t.test('when the pause dies, every container of a shared-pid pod is reported exited and the pod ends', { timeout: 240_000 }, async (t) => {
  await pauseDies(t, true);
});

t.test(
  'when the pause dies, the sandbox ends: every container is reported exited even in its own pid namespace',
  { timeout: 240_000, ...onlyRunscTs("runc's containers have their own pid namespaces beside the pause's and outlive it") },
  async (t) => {
    await pauseDies(t, false);
  },
);
