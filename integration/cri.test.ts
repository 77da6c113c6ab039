// Drives a runtime handler through containerd's CRI (as kubelet would): pod lifecycle, containers,
// exec, logs, stop timeouts, shared pid namespace, volumes and localhost, cleanup and stats.
// RUNSC_TS_CRI_HANDLER=runc runs the same tests against runc, to check the tests themselves.
import * as fs from 'fs';
import * as path from 'path';
import t from 'tap';
import { CRI_NAMESPACE } from './containerd';
import { isNotFound, runtime } from './cri';
import { CRI_HANDLER, Pod, elapsed, logPathOf, parseCriLog, text, useCriHarness, waitLog } from './cri-pods';
import { TapTest, leakCheck, waitFor } from './helpers';
import { BUSYBOX_IMAGE, PAUSE_IMAGE } from './image';
import { leakedProcesses, programOf } from './leftovers';
import v1 = runtime.v1;

const NOTHING_LEFT = 'nothing left over';

// The shim binary containerd starts for each handler the tests know.
const SHIM_OF: Record<string, string> = {
  'runsc-ts': 'containerd-shim-runsc-ts-v1',
  runc: 'containerd-shim-runc-v2',
};
const SENTRY = 'runsc-ts-sentry';

t.setTimeout(900_000);

const harness = useCriHarness(t, `cri-${CRI_HANDLER}`);

// Everything of a pod that must be gone after RemovePodSandbox, noted while it runs.
interface PodTrace {
  podId: string;
  containerIds: string[];
  netns: string;
  veths: string[];
  cgroupParent: string;
}

// Notes the pod's netns (from the sandbox spec), host veths (from libcni's cache) and cgroup parent.
async function tracePod(pod: Pod): Promise<PodTrace> {
  const { cd, cri } = harness();
  const st = await cri.podSandboxStatus(pod.id, true);
  let netns = '';
  try {
    const info = JSON.parse(st.info?.info ?? '{}') as { runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } } };
    netns = info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path ?? '';
  } catch {
    // no verbose info: the netns check is skipped
  }
  const veths: string[] = [];
  const net = cd.criNetwork!;
  try {
    const cache = JSON.parse(fs.readFileSync(path.join('/var/lib/cni/results', `${net.name}-${pod.id}-eth0`), 'utf8')) as {
      result?: { interfaces?: { name: string; sandbox?: string }[] };
    };
    for (const i of cache.result?.interfaces ?? []) if (!i.sandbox && i.name !== net.bridge) veths.push(i.name);
  } catch {
    // no cache file: reported by podRemains
  }
  return { podId: pod.id, containerIds: [...pod.containers.values()], netns, veths, cgroupParent: pod.config.linux?.cgroupParent ?? '' };
}

// Cgroups under `parent` (any hierarchy) that still hold processes.
function busyCgroups(parent: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let ents: fs.Dirent[] = [];
    try {
      ents = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    try {
      if (fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim() !== '') out.push(dir);
    } catch {
      // not a cgroup dir
    }
    for (const e of ents) if (e.isDirectory()) walk(path.join(dir, e.name));
  };
  let controllers: string[] = [];
  try {
    controllers = fs.readdirSync('/sys/fs/cgroup');
  } catch {
    return out;
  }
  for (const c of controllers) walk(path.join('/sys/fs/cgroup', c, parent));
  return out;
}

// What is left of a removed pod beyond processes, mounts and bundles (leakCheck covers those):
// CRI dirs, the netns file, veths, CNI cache files and cgroups with processes.
function podRemains(trace: PodTrace): string[] {
  const { cd } = harness();
  const out: string[] = [];
  const criRoot = path.join(cd.rootDir, 'io.containerd.grpc.v1.cri');
  const criState = path.join(cd.stateDir, 'io.containerd.grpc.v1.cri');
  for (const base of [criRoot, criState]) {
    const dirs = [path.join(base, 'sandboxes', trace.podId), ...trace.containerIds.map((id) => path.join(base, 'containers', id))];
    for (const d of dirs) if (fs.existsSync(d)) out.push(`CRI dir ${d}`);
  }
  if (trace.netns !== '' && fs.existsSync(trace.netns)) out.push(`netns ${trace.netns}`);
  for (const v of trace.veths) if (fs.existsSync(path.join('/sys/class/net', v))) out.push(`veth ${v}`);
  const net = cd.criNetwork!;
  for (const f of [`${net.name}-${trace.podId}-eth0`, `cni-loopback-${trace.podId}-lo`]) {
    if (fs.existsSync(path.join('/var/lib/cni/results', f))) out.push(`CNI cache /var/lib/cni/results/${f}`);
  }
  for (const c of busyCgroups(trace.cgroupParent)) out.push(`cgroup with processes ${c}`);
  return out;
}

// Waits (up to 10 s) for podRemains to be empty and renders what is left.
async function remainsReport(trace: PodTrace): Promise<string> {
  const left = await waitFor(() => podRemains(trace), (l) => l.length === 0, 10_000, 200);
  return left.length === 0 ? NOTHING_LEFT : left.join('\n');
}

// Parses `ps -o pid,args` output into pid → command line.
function psTable(out: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of out.split('\n').slice(1)) {
    const f = /^\s*(\d+)\s+(.*?)\s*$/.exec(line);
    if (f) m.set(Number(f[1]), f[2]);
  }
  return m;
}

// basename of argv[0]: how the tests tell shims, sentries and container processes apart.
// Copies the bundle config.json of each of the pod's containers (and the pause container) to
// $RUNSC_TS_CRI_DUMP_DIR as <handler>-<label>-<container>.json, when set, to see the CRI's specs.
function dumpSpecs(pod: Pod, label: string): void {
  const dir = process.env.RUNSC_TS_CRI_DUMP_DIR;
  if (!dir) return;
  const { cd } = harness();
  fs.mkdirSync(dir, { recursive: true });
  const ids: [string, string][] = [['sandbox', pod.id], ...[...pod.containers.entries()]];
  for (const [name, id] of ids) {
    const src = path.join(cd.stateDir, 'io.containerd.runtime.v2.task', CRI_NAMESPACE, id, 'config.json');
    try {
      fs.copyFileSync(src, path.join(dir, `${CRI_HANDLER}-${label}-${name}.json`));
    } catch (err) {
      console.error(`# dump: ${src}: ${(err as Error).message}`);
    }
  }
}

// Starts `sleep N` containers named c1, c2, ... in `pod` and waits until each is RUNNING.
async function startSleepers(t: TapTest, pod: Pod, n: number, sharePid = false): Promise<string[]> {
  const { pods } = harness();
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    ids.push(await pods.startContainer(pod, `c${i}`, { command: ['sleep', String(1000 + i)] }, { sharePid }));
  }
  for (const id of ids) {
    const st = await pods.waitState(id, v1.ContainerState.CONTAINER_RUNNING);
    t.equal(st?.state, v1.ContainerState.CONTAINER_RUNNING, `container ${st?.metadata?.name ?? id} is RUNNING`, { status: st });
  }
  return ids;
}

t.test('Version and Status answer, and the CRI knows the pause and busybox images', async (t) => {
  const { cri, cd } = harness();
  const v = await cri.version();
  t.equal(v.runtimeName, 'containerd', 'runtime name is containerd');
  t.equal(v.runtimeApiVersion, 'v1', 'runtime API version is v1');
  t.ok(v.runtimeVersion, `runtime version ${v.runtimeVersion}`);
  const s = await cri.status(true);
  const cond = (type: string): v1.IRuntimeCondition | undefined => s.status?.conditions?.find((c) => c.type === type);
  t.equal(cond('RuntimeReady')?.status, true, 'RuntimeReady', { conditions: s.status?.conditions });
  t.equal(cond('NetworkReady')?.status, true, 'NetworkReady (our CNI bridge config was loaded)', { conditions: s.status?.conditions });
  t.ok((await cri.imageStatus(PAUSE_IMAGE)).image, `${PAUSE_IMAGE} is known`);
  t.ok((await cri.imageStatus(BUSYBOX_IMAGE)).image, `${BUSYBOX_IMAGE} is known`);
  t.match(s.info?.config ?? '', cd.criNetwork!.confPath.split('/').slice(0, -1).join('/'), 'the CRI uses our CNI conf dir');
});

t.test('a pod sandbox runs READY, stops, is removed (twice is fine) and leaves nothing', async (t) => {
  const { cd, cri, pods } = harness();
  const leaks = leakCheck(cd);
  const pod = await pods.runPod(t, 'lifecycle');
  const trace = await tracePod(pod);
  const st = await cri.podSandboxStatus(pod.id);
  t.equal(st.status?.state, v1.PodSandboxState.SANDBOX_READY, 'PodSandboxStatus is READY');
  t.equal(st.status?.runtimeHandler, CRI_HANDLER, `runtime handler is ${CRI_HANDLER}`);
  t.equal(st.status?.metadata?.name, pod.name, 'metadata comes back');
  t.equal(st.status?.annotations?.['runsc-ts.test/pod'], pod.name, 'annotations come back');
  const subnetPrefix = cd.criNetwork!.subnet.split('.').slice(0, 3).join('.') + '.';
  t.ok(st.status?.network?.ip?.startsWith(subnetPrefix), `pod IP ${st.status?.network?.ip} is in ${cd.criNetwork!.subnet}`);
  t.not(trace.netns, '', 'the sandbox spec names a netns path', { trace });
  t.ok(trace.netns.startsWith(cd.stateDir + '/'), `the netns file ${trace.netns} is under the state dir`);
  const list = await cri.listPodSandbox({ id: pod.id });
  t.equal(list.items.length, 1, 'ListPodSandbox finds it by id');

  await cri.stopPodSandbox(pod.id);
  const stopped = await cri.podSandboxStatus(pod.id);
  t.equal(stopped.status?.state, v1.PodSandboxState.SANDBOX_NOTREADY, 'after StopPodSandbox it is NOTREADY');
  await cri.stopPodSandbox(pod.id);
  t.pass('stopping it again is no error');

  await cri.removePodSandbox(pod.id);
  await t.resolves(cri.removePodSandbox(pod.id), 'removing it again is no error');
  const gone = await cri.podSandboxStatus(pod.id).then(
    () => 'still there',
    (err: unknown) => (isNotFound(err) ? 'not found' : (err as Error).message),
  );
  t.equal(gone, 'not found', 'PodSandboxStatus says NotFound');
  t.equal(await leaks.report(), NOTHING_LEFT, 'no process, mount or bundle left');
  t.equal(await remainsReport(trace), NOTHING_LEFT, 'no CRI dir, netns, veth, CNI cache or busy cgroup left');
});

t.test('a pod with two containers: status, list, exec and the CRI log', async (t) => {
  const { cri, pods } = harness();
  const pod = await pods.runPod(t, 'two');
  const ids = await startSleepers(t, pod, 1);
  ids.push(await pods.startContainer(pod, 'c2', { command: ['sh', '-c', 'echo hello; echo oops >&2; exec sleep 1002'] }));
  const c2 = await pods.waitState(ids[1], v1.ContainerState.CONTAINER_RUNNING);
  t.equal(c2?.state, v1.ContainerState.CONTAINER_RUNNING, 'c2 is RUNNING');
  dumpSpecs(pod, 'two');

  for (const id of ids) {
    const st = await cri.containerStatus(id, true);
    t.ok((st.status?.startedAt ?? 0) > 0, `${st.status?.metadata?.name} has a start time`);
    const info = JSON.parse(st.info?.info ?? '{}') as { pid?: number; sandboxID?: string };
    t.ok((info.pid ?? 0) > 0, `${st.status?.metadata?.name} has a pid (${info.pid})`, { info: st.info?.info?.slice(0, 300) });
    t.equal(info.sandboxID, pod.id, 'verbose info names the pod');
  }
  const listed = await cri.listContainers({ podSandboxId: pod.id });
  t.same(listed.containers.map((c) => c.id).sort(), [...ids].sort(), 'ListContainers by pod lists exactly its two containers');
  t.ok(
    listed.containers.every((c) => c.state === v1.ContainerState.CONTAINER_RUNNING),
    'both listed RUNNING',
  );

  const hi = await cri.execSync(ids[0], ['echo', 'hi'], 20);
  t.equal(text(hi.stdout), 'hi\n', 'ExecSync echo hi prints hi', { stderr: text(hi.stderr) });
  t.equal(hi.exitCode, 0, 'and exits 0');
  const three = await cri.execSync(ids[0], ['sh', '-c', 'echo err >&2; exit 3'], 20);
  t.equal(three.exitCode, 3, "ExecSync sh -c 'exit 3' returns 3");
  t.equal(text(three.stderr), 'err\n', 'ExecSync returns stderr apart');

  const log = await waitLog(pod, 'c2', 'hello');
  const lines = parseCriLog(log);
  t.ok(lines.some((l) => l.stream === 'stdout' && l.tag === 'F' && l.text === 'hello'), 'stdout reaches the CRI log', { log });
  t.ok(lines.some((l) => l.stream === 'stderr' && l.text === 'oops'), 'stderr reaches the CRI log as stderr', { log });
  t.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) stdout F hello$/m, 'in CRI format: <time> stdout F hello');
  const cs = await cri.containerStatus(ids[1]);
  t.equal(cs.status?.logPath, logPathOf(pod, 'c2'), 'ContainerStatus names the log path');
});

t.test('StopContainer kills a container that ignores SIGTERM after the timeout; one that handles it exits with its code', async (t) => {
  const { cri, pods } = harness();
  const pod = await pods.runPod(t, 'stop');
  const stubborn = await pods.startContainer(pod, 'stubborn', { command: ['sh', '-c', "trap '' TERM; echo ready; while :; do sleep 1; done"] });
  const polite = await pods.startContainer(pod, 'polite', {
    command: ['sh', '-c', "trap 'exit 42' TERM; echo ready; while :; do sleep 1000 & wait $!; done"],
  });
  await waitLog(pod, 'stubborn', 'ready');
  await waitLog(pod, 'polite', 'ready');

  const hard = await elapsed(() => cri.stopContainer(stubborn, 2));
  const s1 = await pods.waitState(stubborn, v1.ContainerState.CONTAINER_EXITED);
  t.equal(s1?.state, v1.ContainerState.CONTAINER_EXITED, 'the container ignoring SIGTERM is EXITED');
  t.equal(s1?.exitCode, 137, 'killed by SIGKILL: exit code 137', { status: s1 });
  t.ok(hard.ms >= 1_500, `StopContainer waited for the 2 s timeout (${hard.ms} ms)`);
  t.ok(hard.ms < 30_000, `and not much longer (${hard.ms} ms)`);

  const soft = await elapsed(() => cri.stopContainer(polite, 30));
  const s2 = await pods.waitState(polite, v1.ContainerState.CONTAINER_EXITED);
  t.equal(s2?.state, v1.ContainerState.CONTAINER_EXITED, 'the container handling SIGTERM is EXITED');
  t.equal(s2?.exitCode, 42, 'with the exit code of its TERM handler', { status: s2 });
  t.ok(soft.ms < 15_000, `well before the 30 s timeout (${soft.ms} ms)`);
});

const oneShimSkip = SHIM_OF[CRI_HANDLER] ? false : `no shim name known for handler ${CRI_HANDLER}`;
t.test('one shim (and for runsc-ts one sentry) serves the pause container and both containers of a pod', { skip: oneShimSkip }, async (t) => {
  const { cd, pods } = harness();
  const shim = SHIM_OF[CRI_HANDLER];
  const before = new Set(leakedProcesses(cd.baseDir, [cd.pid]).map((p) => p.pid));
  const pod = await pods.runPod(t, 'oneshim');
  await startSleepers(t, pod, 2);
  const fresh = leakedProcesses(cd.baseDir, [cd.pid]).filter((p) => !before.has(p.pid));
  const describe = { processes: fresh.map((p) => `${p.pid} ${p.cmdline}`) };
  t.equal(fresh.filter((p) => programOf(p) === shim).length, 1, `exactly one ${shim} (warm shims not counted)`, describe);
  if (CRI_HANDLER === 'runsc-ts') {
    t.equal(fresh.filter((p) => programOf(p) === SENTRY).length, 1, `exactly one ${SENTRY}`, describe);
  }
});

t.test('with shareProcessNamespace a container sees the pause process and the other container', async (t) => {
  const { cri, pods } = harness();
  const pod = await pods.runPod(t, 'sharepid', { sharePid: true });
  const ids = await startSleepers(t, pod, 2, true);
  dumpSpecs(pod, 'sharepid');
  const ps = await waitFor(
    async () => text((await cri.execSync(ids[0], ['ps', '-o', 'pid,args'], 20)).stdout),
    (out) => out.includes('sleep 1002'),
    10_000,
    300,
  );
  const procs = [...psTable(ps).values()];
  t.equal(psTable(ps).get(1), '/pause', 'PID 1 is /pause', { ps });
  t.ok(procs.includes('sleep 1001'), 'its own process is there', { ps });
  t.ok(procs.includes('sleep 1002'), "the other container's process is there", { ps });
});

t.test("without it a container's init is PID 1 and ps shows only its own processes", async (t) => {
  const { cri, pods } = harness();
  const pod = await pods.runPod(t, 'ownpid');
  const c1 = await pods.startContainer(pod, 'c1', { command: ['sh', '-c', 'echo pid=$$; exec sleep 1001'] });
  await pods.startContainer(pod, 'c2', { command: ['sleep', '1002'] });
  const log = await waitLog(pod, 'c1', 'pid=1');
  t.ok(parseCriLog(log).some((l) => l.text === 'pid=1'), 'echo $$ in the init prints 1', { log });
  await pods.waitState(c1, v1.ContainerState.CONTAINER_RUNNING);
  const ps = text((await cri.execSync(c1, ['ps', '-o', 'pid,args'], 20)).stdout);
  const table = psTable(ps);
  t.equal(table.get(1), 'sleep 1001', 'PID 1 is its own init', { ps });
  t.same(
    [...table.values()].filter((a) => !a.startsWith('ps ')),
    ['sleep 1001'],
    'ps shows only its own processes (no /pause, nothing of the other container)',
    { ps },
  );
});

t.test('two containers of a pod share a volume (a host dir mounted in both)', async (t) => {
  const { cd, cri, pods } = harness();
  const pod = await pods.runPod(t, 'volume');
  const hostDir = path.join(cd.baseDir, 'volumes', pod.uid, 'shared');
  fs.mkdirSync(hostDir, { recursive: true });
  const mounts: v1.IMount[] = [{ containerPath: '/shared', hostPath: hostDir, readonly: false }];
  const c1 = await pods.startContainer(pod, 'c1', { command: ['sleep', '1001'], mounts });
  const c2 = await pods.startContainer(pod, 'c2', { command: ['sleep', '1002'], mounts });
  await pods.waitState(c1, v1.ContainerState.CONTAINER_RUNNING);
  await pods.waitState(c2, v1.ContainerState.CONTAINER_RUNNING);
  dumpSpecs(pod, 'volume');
  const w1 = await cri.execSync(c1, ['sh', '-c', 'echo from-c1 > /shared/f'], 20);
  t.equal(w1.exitCode, 0, 'c1 writes /shared/f', { stderr: text(w1.stderr) });
  const r2 = await cri.execSync(c2, ['cat', '/shared/f'], 20);
  t.equal(text(r2.stdout), 'from-c1\n', 'c2 reads what c1 wrote', { stderr: text(r2.stderr) });
  const w2 = await cri.execSync(c2, ['sh', '-c', 'echo from-c2 >> /shared/f'], 20);
  t.equal(w2.exitCode, 0, 'c2 appends', { stderr: text(w2.stderr) });
  const r1 = await cri.execSync(c1, ['cat', '/shared/f'], 20);
  t.equal(text(r1.stdout), 'from-c1\nfrom-c2\n', 'c1 reads what c2 appended');
  t.equal(fs.readFileSync(path.join(hostDir, 'f'), 'utf8'), 'from-c1\nfrom-c2\n', 'the host dir holds the file');
});

t.test('two containers of a pod talk over 127.0.0.1', async (t) => {
  const { cri, pods } = harness();
  const pod = await pods.runPod(t, 'localhost');
  const server = await pods.startContainer(pod, 'server', { command: ['sh', '-c', 'echo listening; echo pong | nc -l -p 8080'] });
  const client = await pods.startContainer(pod, 'client', { command: ['sleep', '1000'] });
  await waitLog(pod, 'server', 'listening');
  await pods.waitState(client, v1.ContainerState.CONTAINER_RUNNING);
  // The server may not listen yet when the first attempt connects: retry for up to ~10 s.
  const script = 'i=0; while [ $i -lt 50 ]; do if echo ping | nc -w 2 127.0.0.1 8080; then exit 0; fi; i=$((i+1)); sleep 0.2; done; exit 1';
  const r = await cri.execSync(client, ['sh', '-c', script], 30);
  t.equal(r.exitCode, 0, 'the client connects to 127.0.0.1:8080', { stdout: text(r.stdout), stderr: text(r.stderr) });
  t.match(text(r.stdout), /pong/, 'and receives the answer of the other container');
  const log = await waitLog(pod, 'server', 'ping');
  t.ok(parseCriLog(log).some((l) => l.text === 'ping'), 'the server got ping', { log });
  const st = await pods.waitState(server, v1.ContainerState.CONTAINER_EXITED);
  t.equal(st?.exitCode, 0, 'the server exits 0 after the connection', { status: st });
});

t.test('StopPodSandbox ends every container; RemovePodSandbox leaves nothing of the pod', async (t) => {
  const { cd, cri, pods } = harness();
  const leaks = leakCheck(cd);
  const before = new Set(leakedProcesses(cd.baseDir, [cd.pid]).map((p) => p.pid));
  const pod = await pods.runPod(t, 'teardown');
  const ids = await startSleepers(t, pod, 1);
  ids.push(await pods.startContainer(pod, 'stubborn', { command: ['sh', '-c', "trap '' TERM; while :; do sleep 1; done"] }));
  await pods.waitState(ids[1], v1.ContainerState.CONTAINER_RUNNING);
  const trace = await tracePod(pod);
  const running = leakedProcesses(cd.baseDir, [cd.pid]).filter((p) => !before.has(p.pid));
  t.ok(running.length > 0, `the pod has host processes (${running.length})`);

  await cri.stopPodSandbox(pod.id, 120_000);
  for (const id of ids) {
    const st = await pods.waitState(id, v1.ContainerState.CONTAINER_EXITED, 10_000);
    t.equal(st?.state, v1.ContainerState.CONTAINER_EXITED, `${st?.metadata?.name} is EXITED after StopPodSandbox`, { status: st });
  }
  t.equal((await cri.podSandboxStatus(pod.id)).status?.state, v1.PodSandboxState.SANDBOX_NOTREADY, 'the pod is NOTREADY');

  await cri.removePodSandbox(pod.id, 120_000);
  const listed = await cri.listContainers({ podSandboxId: pod.id });
  t.equal(listed.containers.length, 0, 'ListContainers finds none of its containers');
  for (const id of ids) {
    const err = await cri.containerStatus(id).then(() => undefined, (e: unknown) => e);
    t.ok(isNotFound(err), `ContainerStatus of ${id.slice(0, 12)} says NotFound`, { err: String(err) });
  }
  t.equal(await leaks.report(), NOTHING_LEFT, 'no shim, sentry, container process, mount or bundle left');
  t.equal(await remainsReport(trace), NOTHING_LEFT, 'no CRI dir, netns, veth, CNI cache or busy cgroup left');
});

t.test('ContainerStats returns CPU and memory usage', async (t) => {
  const { cri, pods } = harness();
  const pod = await pods.runPod(t, 'stats');
  const id = await pods.startContainer(pod, 'busy', {
    command: ['sh', '-c', 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo done; exec sleep 1000'],
  });
  await waitLog(pod, 'busy', 'done', 60_000);
  let res: v1.ContainerStatsResponse | undefined;
  try {
    res = await cri.containerStats(id);
  } catch (err) {
    t.fail(`ContainerStats failed (does the runtime answer the Stats call?): ${(err as Error).message}`);
    return;
  }
  const s = res.stats;
  t.equal(s?.attributes?.id, id, 'stats name the container');
  const cpu = s?.cpu?.usageCoreNanoSeconds?.value ?? undefined;
  const mem = s?.memory?.workingSetBytes?.value ?? undefined;
  if (cpu === undefined) t.fail('ContainerStats has no CPU usage: the runtime returned no CPU metrics', { stats: s });
  else t.ok(cpu > 0, `CPU usage ${cpu} ns > 0`);
  if (mem === undefined) t.fail('ContainerStats has no memory working set: the runtime returned no memory metrics', { stats: s });
  else t.ok(mem > 0, `memory working set ${mem} bytes > 0`);
  t.ok(s?.writableLayer?.fsId?.mountpoint, `writable layer is reported (${s?.writableLayer?.fsId?.mountpoint})`);
});
