// Container files through runsc-ts's file-access modes (exclusive and shared: the per-container
// FUSE gofer with long or short caches, serving the image read-only under the container's
// writable snapshot by default; gofer: the gofer serving every read and write of the root;
// direct: host directories bound in; memory: a tmpfs upper layer over the root). fsconf
// (fsconf/fsconf.c) must print exactly what it prints under runc, in the root and in a
// read-write bind, in every mode; the memory overlay keeps writes off the host and has a size
// limit; the other modes write to the container's snapshot and (shared, direct) see host changes
// in binds; a bind cannot be left through symlinks, `..`, hard links or a rename race; a
// killed gofer makes file access fail promptly (not hang) and the container can still go; and no
// gofer outlives its container. RUNSC_TS_IT_RUNTIME=io.containerd.runc.v2 runs the parts that
// do not depend on runsc-ts's modes (fsconf's own expectations, writes through, binds, escapes)
// against runc, to check the tests themselves.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import t from 'tap';
import { Containerd, RUNC_RUNTIME, RUNSC_TS_RUNTIME, RunOptions, RunResult, runCommand, startContainerd } from './containerd';
import { ENABLE_URING, TapTest, cleanReport, leakCheck, output, parsePs, parseTaskList, removeContainer, sleep, taskStatus, uniqueId, waitFor, withFuseUring } from './helpers';
import { BUSYBOX_BINARY, BUSYBOX_IMAGE, LAYERED_IMAGE, buildLayeredImage, importArchive, importImage } from './image';
import { installFsconf } from './fsconf';

/** RUNTIME is the runtime under test: runsc-ts unless RUNSC_TS_IT_RUNTIME names another. */
const RUNTIME = process.env.RUNSC_TS_IT_RUNTIME || RUNSC_TS_RUNTIME;
const IS_RUNSC_TS = RUNTIME === RUNSC_TS_RUNTIME;
/** REFERENCE is the runtime fsconf's output is compared with. */
const REFERENCE = RUNC_RUNTIME;
const onlyRunscTs = { skip: IS_RUNSC_TS ? false : `${RUNTIME} has no file-access modes, overlay or gofer` };

const NOTHING_LEFT = 'nothing left over';
/** GOFER_COMM is the gofer's process name (/proc/PID/comm). */
const GOFER_COMM = 'runsc-ts-gofer';
/** OTHER_MOUNT is fsconf's --other-mount: a tmpfs in every ctr container (runc and runsc-ts alike). */
const OTHER_MOUNT = '/dev/shm';

t.setTimeout(300_000);

let cd: Containerd | undefined;
let fsconfDir = '';
/** ids are the containers this file started, to find their gofers at the end. */
const ids = new Set<string>();
const harness = (): Containerd => {
  if (!cd) throw new Error('private containerd did not start');
  return cd;
};

t.before(async () => {
  cd = await startContainerd({ label: `fs-${RUNTIME.replace(/[^a-z0-9.-]/gi, '_')}` });
  await importImage(cd);
  await importArchive(cd, await buildLayeredImage(), LAYERED_IMAGE, LAYERED_IMAGE, cd.namespace);
  fsconfDir = installFsconf(cd.baseDir);
});
t.teardown(async () => {
  await cd?.stop();
});

/**
 * Mode is a runsc-ts file-access configuration: exclusive and shared with the default root
 * overlay (the snapshot's writable layer over the image the gofer serves); gofer is exclusive
 * with overlay = "none"; memory is exclusive with a tmpfs upper layer.
 */
type Mode = 'exclusive' | 'shared' | 'gofer' | 'direct' | 'memory';
const MODES: Mode[] = ['exclusive', 'shared', 'gofer', 'direct', 'memory'];
const OVERLAY_SIZE_MIB = 64;
const MODE_CONFIG: Record<Mode, string> = {
  exclusive: 'file-access = "exclusive"\n',
  shared: 'file-access = "shared"\n',
  gofer: 'file-access = "exclusive"\noverlay = "none"\n',
  direct: 'file-access = "direct"\n',
  memory: `file-access = "exclusive"\noverlay = "memory"\noverlay-size = "${OVERLAY_SIZE_MIB}Mi"\n`,
};
/** SNAPSHOT_OVERLAY are the modes whose root is the sandbox's overlay of the gofer's image and the snapshot's upper layer. */
const SNAPSHOT_OVERLAY: Mode[] = ['exclusive', 'shared'];

function newId(prefix: string): string {
  const id = uniqueId(prefix);
  ids.add(id);
  return id;
}

/** runtimeFlags is `--runtime R` plus, for runsc-ts, the config file of `mode` (written once). */
function runtimeFlags(runtime: string, mode?: Mode): string[] {
  if (runtime !== RUNSC_TS_RUNTIME || !mode) return ['--runtime', runtime];
  const file = path.join(harness().baseDir, `fs-${mode}.toml`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, MODE_CONFIG[mode]);
  return ['--runtime', runtime, '--runtime-config-path', file];
}

/** bind is ctr's --mount of host dir `src` at `dst`. */
function bind(src: string, dst: string, mode: 'rw' | 'ro' = 'rw'): string[] {
  return ['--mount', `type=bind,src=${src},dst=${dst},options=rbind:${mode}`];
}

/** hostDir makes a fresh, empty directory under the base dir (mode 0755) and returns its path. */
function hostDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(harness().baseDir, `${name}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

// ctr run --rm RUNTIME-FLAGS [FLAGS...] BUSYBOX_IMAGE <id> CMD...
function run(id: string, runtime: string, mode: Mode | undefined, flags: string[], cmd: string[], timeoutMs = 60_000): Promise<RunResult> {
  return harness().ctr(['run', '--rm', ...runtimeFlags(runtime, mode), ...flags, BUSYBOX_IMAGE, id, ...cmd], { timeoutMs });
}

/** startDetached runs `sleep 100000` detached and resolves once the task runs; '' (and a failed assertion) otherwise. */
async function startDetached(t: TapTest, prefix: string, mode: Mode | undefined, flags: string[] = []): Promise<string> {
  const c = harness();
  const id = newId(prefix);
  t.teardown(() => removeContainer(c, id));
  const r = await c.ctr(['run', '-d', ...runtimeFlags(RUNTIME, mode), ...flags, BUSYBOX_IMAGE, id, 'sleep', '100000'], { timeoutMs: 60_000 });
  t.equal(r.code, 0, `ctr run -d ${id} exits 0`, output(r));
  if (r.code !== 0) return '';
  const status = await waitFor(() => taskStatus(c, id), (s) => s === 'RUNNING', 20_000);
  t.equal(status, 'RUNNING', 'the task runs');
  return status === 'RUNNING' ? id : '';
}

let execSeq = 0;
// ctr task exec --exec-id <unique> ID CMD...
function exec(id: string, cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  return harness().ctr(['task', 'exec', '--exec-id', `x${++execSeq}`, id, ...cmd], { timeoutMs: 30_000, ...opts });
}

/** bundleRootfs is the host path containerd mounts the container's snapshot on. */
function bundleRootfs(id: string): string {
  const c = harness();
  return path.join(c.stateDir, 'io.containerd.runtime.v2.task', c.namespace, id, 'rootfs');
}

/** upperdirOf is the upperdir option of the mount at mountPoint in a mountinfo text ('' if none). */
function upperdirOf(mountinfo: string, mountPoint: string): string {
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    if (fields[4] !== mountPoint) continue;
    const m = /(?:^|,)upperdir=([^,]+)/.exec(fields[fields.length - 1] ?? '');
    if (m) return m[1].replace(/\\([0-7]{3})/g, (_s, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return '';
}

/** initPid is the host pid of task `id`'s init, from `ctr task ls` (0 if it is not listed). */
async function initPid(id: string): Promise<number> {
  return parseTaskList((await harness().ctr(['task', 'ls'], { timeoutMs: 10_000 })).stdout).find((row) => row.id === id)?.pid ?? 0;
}

/**
 * snapshotUpper is the container's writable snapshot directory: the upperdir of the overlay on
 * the bundle rootfs, or (where the host mount holds only the image) of the container's root.
 */
async function snapshotUpper(id: string): Promise<string> {
  const host = upperdirOf(fs.readFileSync('/proc/self/mountinfo', 'utf8'), bundleRootfs(id));
  if (host) return host;
  const init = await initPid(id);
  try {
    return upperdirOf(fs.readFileSync(`/proc/${init}/mountinfo`, 'utf8'), '/');
  } catch {
    return '';
  }
}

/** treeOf lists every path under dir with its type, size and content hash (sorted), for before/after comparisons. */
function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const full = path.join(dir, rel);
    for (const name of fs.readdirSync(full).sort()) {
      const p = path.join(full, name);
      const st = fs.lstatSync(p);
      const r = path.join(rel, name);
      if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else if (st.isFile()) {
        out.push(`${r} ${st.size} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16)}`);
      } else {
        out.push(`${r} ${st.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : `mode ${st.mode.toString(8)}`}`);
      }
    }
  };
  walk('');
  return out;
}

/** goferProcesses lists live runsc-ts-gofer processes of this file's containers (by `--id`) or naming its base dir. */
function goferProcesses(): Array<{ pid: number; id: string; cmdline: string }> {
  const out: Array<{ pid: number; id: string; cmdline: string }> = [];
  const base = harness().baseDir + '/';
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    let comm = '';
    let args: string[] = [];
    try {
      comm = fs.readFileSync(`/proc/${ent}/comm`, 'latin1').trim();
      args = fs.readFileSync(`/proc/${ent}/cmdline`, 'latin1').replace(/\0+$/, '').split('\0');
    } catch {
      continue; // gone
    }
    if (comm !== GOFER_COMM) continue;
    const i = args.indexOf('--id');
    const id = i >= 0 ? args[i + 1] ?? '' : '';
    const cmdline = args.join(' ');
    if (ids.has(id) || cmdline.includes(base)) out.push({ pid: Number(ent), id, cmdline });
  }
  return out;
}

/** unifiedDiff is `diff -u` of two texts (empty when they are equal). */
async function unifiedDiff(a: string, b: string, labelA: string, labelB: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(harness().baseDir, 'diff-'));
  try {
    fs.writeFileSync(path.join(dir, 'a'), a);
    fs.writeFileSync(path.join(dir, 'b'), b);
    const r = await runCommand('diff', ['-u', '--label', labelA, '--label', labelB, path.join(dir, 'a'), path.join(dir, 'b')], { timeoutMs: 10_000 });
    return r.code === 0 ? '' : r.stdout || r.stderr || `diff exited ${r.code}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** brief is output(r) with only the last lines of a long stdout, for diagnostics of fsconf runs. */
function brief(r: RunResult, lines = 20): ReturnType<typeof output> {
  const all = r.stdout.split('\n');
  const stdout = all.length > lines ? `[... ${all.length - lines} lines]\n${all.slice(-lines).join('\n')}` : r.stdout;
  return { ...output(r), stdout };
}

// ---------------------------------------------------------------------------------------------
// 1. fsconf in every mode, compared with runc.

/** Target is where fsconf makes its scratch directory: in the container's root, or in a read-write bind of a host dir. */
type Target = 'root' | 'bind';
const TARGETS: Target[] = ['root', 'bind'];

/** FsconfRun is one fsconf run: its check lines, its exit status, the container's mount points before and after, and where / and /vol live. */
interface FsconfRun {
  result: RunResult;
  ms: number;
  checks: string;
  exit: number;
  mountsBefore: string;
  mountsAfter: string;
  rootType: string;
  /** rootOptions are the root mount's options as /proc/mounts shows them. */
  rootOptions: string;
  volType: string;
  hostLeft: string[];
}

// Prints fsconf's lines, then its exit status, the container's mount points before and after it
// (a mount that disappears is a bug even when fsconf's checks pass), and the file-system types
// of / and /vol (which say the mode took effect).
function fsconfScript(dir: string): string {
  return [
    'mounts() { cut -d" " -f5 /proc/self/mountinfo | sort; }',
    'before=$(mounts)',
    `/fsconf/fsconf --other-mount ${OTHER_MOUNT} ${dir}`,
    'echo "== exit $?"',
    'echo "== mounts before"; echo "$before"',
    'echo "== mounts after"; mounts',
    'echo "== types"; grep -E "^[^ ]+ /(vol)? " /proc/mounts',
    'echo "== end"',
  ].join('\n');
}

function section(stdout: string, name: string): string {
  const m = new RegExp(`^== ${name}\\n([\\s\\S]*?)(?=^== |$(?![\\s\\S]))`, 'm').exec(stdout);
  return m ? m[1] : '';
}

async function runFsconf(runtime: string, mode: Mode | undefined, target: Target): Promise<FsconfRun> {
  const vol = hostDir(`fsconf-vol-${mode ?? 'runc'}`);
  const dir = target === 'root' ? '/fsconf-scratch' : '/vol';
  const script = (target === 'root' ? `mkdir -p ${dir} && ` : '') + fsconfScript(dir);
  const start = Date.now();
  const result = await run(newId(`fsconf-${mode ?? 'runc'}-${target}`), runtime, mode, [...bind(fsconfDir, '/fsconf', 'ro'), ...bind(vol, '/vol')], ['sh', '-c', script], 240_000);
  const ms = Date.now() - start;
  const idx = result.stdout.search(/^== exit /m);
  const types = section(result.stdout, 'types');
  const typeOf = (mp: string): string => new RegExp(`^\\S+ ${mp} (\\S+)`, 'm').exec(types)?.[1] ?? '';
  return {
    result,
    ms,
    checks: idx >= 0 ? result.stdout.slice(0, idx) : result.stdout,
    exit: Number(/^== exit (\d+)$/m.exec(result.stdout)?.[1] ?? -1),
    mountsBefore: section(result.stdout, 'mounts before'),
    mountsAfter: section(result.stdout, 'mounts after'),
    rootType: typeOf('/'),
    rootOptions: new RegExp('^\\S+ / \\S+ (\\S+)', 'm').exec(types)?.[1] ?? '',
    volType: typeOf('/vol'),
    hostLeft: fs.readdirSync(vol),
  };
}

/** reference holds runc's fsconf runs, made once by the first subtest. */
const reference = new Map<Target, FsconfRun>();
const timings: string[] = [];

// Asserts what every fsconf run must show, whatever the runtime.
function assertSane(t: TapTest, label: string, r: FsconfRun): void {
  t.equal(r.result.code, 0, `${label}: the container exits 0`, brief(r.result));
  t.match(r.checks, /^fsconf: \d+ checks, \d+ unexpected$/m, `${label}: fsconf ran to its summary line`, brief(r.result));
  const lost = r.mountsAfter === '' ? '(every one: /proc/self/mountinfo is gone, so /proc was detached)' : r.mountsBefore.split('\n').filter((m) => m !== '' && !r.mountsAfter.split('\n').includes(m));
  t.ok(r.mountsBefore !== '' && r.mountsAfter === r.mountsBefore, `${label}: every mount of the container is still there after fsconf`, {
    lost,
    before: r.mountsBefore,
    after: r.mountsAfter,
    stderr: r.result.stderr,
  });
  t.same(r.hostLeft, [], `${label}: fsconf's scratch dir is gone from the host dir`);
}

t.test('fsconf under runc, the reference: every expectation holds, EXDEV is exercised', async (t) => {
  for (const target of TARGETS) {
    const r = await runFsconf(REFERENCE, undefined, target);
    reference.set(target, r);
    timings.push(`runc ${target}: ${secs(r.ms)}`);
    const label = `runc, ${target}`;
    assertSane(t, label, r);
    t.equal(r.exit, 0, `${label}: fsconf exits 0`, brief(r.result));
    t.match(r.checks, /^fsconf: \d+ checks, 0 unexpected$/m, `${label}: 0 unexpected`, { unexpected: r.checks.split('\n').filter((l) => / \(want /.test(l)) });
    t.match(r.checks, /^exdev_rename_file: EXDEV$/m, `${label}: the EXDEV checks ran (${OTHER_MOUNT} is another file system)`);
    t.match(r.checks, /^largedir_50000_create: ok$/m, `${label}: the large directory has 50,000 files`);
    t.not(r.rootType, 'fuse', `${label}: / is not FUSE`);
  }
  t.comment(`fsconf timings: ${timings.join(', ')}`);
});

for (const mode of MODES) {
  t.test(`fsconf under runsc-ts, ${mode}: line for line what runc prints`, onlyRunscTs, async (t) => {
    for (const target of TARGETS) {
      const r = await runFsconf(RUNSC_TS_RUNTIME, mode, target);
      const ref = reference.get(target);
      const label = `${mode}, ${target}`;
      timings.push(`${mode} ${target}: ${secs(r.ms)}`);
      t.comment(`${label}: ${secs(r.ms)} (runc ${ref ? secs(ref.ms) : '?'})`);
      assertSane(t, label, r);
      // The mode took effect: the root is FUSE with the gofer alone, else overlayfs: on FUSE (the
      // image layers the gofer serves) under the snapshot's upper layer, on FUSE (the bundle
      // rootfs) under a tmpfs, or the host's snapshot overlay with direct; a bind is FUSE unless
      // direct.
      const rootWant = mode === 'gofer' ? 'fuse' : 'overlay';
      const unread = '(nothing: /proc/mounts unreadable)';
      t.equal(r.rootType, rootWant, `${label}: / is ${rootWant}`, { got: r.rootType || unread });
      if (SNAPSHOT_OVERLAY.includes(mode)) {
        // The sentry names the layers' FUSE mount points 0, 1, ... (top first).
        t.match(r.rootOptions, /(^|,)lowerdir=0(:\d+)*,upperdir=[^,]*\/fs,/, `${label}: its lower layers are the gofer's, its upper the snapshot's`, { got: r.rootOptions });
      }
      t.ok(r.volType !== '' && (r.volType === 'fuse') === (mode !== 'direct'), `${label}: /vol is ${mode === 'direct' ? 'the host dir, not FUSE' : 'fuse'}`, { got: r.volType || unread });
      if (!ref) {
        t.fail(`${label}: no runc reference to compare with`);
        continue;
      }
      const diff = await unifiedDiff(ref.checks, r.checks, `runc ${target}`, `runsc-ts ${label}`);
      t.ok(diff === '', `${label}: fsconf prints exactly what it prints under runc`, { diff, stderr: r.result.stderr });
      t.equal(r.exit, ref.exit, `${label}: fsconf exits ${ref.exit}, as under runc`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// 2. The memory overlay keeps writes in memory, within its size.

t.test('overlay = "memory": writes stay off the host snapshot, and more than overlay-size is ENOSPC', onlyRunscTs, async (t) => {
  const id = await startDetached(t, 'memory', 'memory');
  if (!id) return;
  const rootfs = bundleRootfs(id);
  const upper = await snapshotUpper(id);
  t.not(upper, '', `the snapshot's upperdir is found (${upper})`);
  const hostGroup = fs.readFileSync(path.join(rootfs, 'etc', 'group'), 'utf8');
  const rootBefore = treeOf(rootfs);
  const upperBefore = upper ? treeOf(upper) : [];

  const w = await exec(id, ['sh', '-c', 'echo written-in-overlay > /new-file && echo "extra:x:4242:" >> /etc/group && rm /etc/passwd && cat /new-file && tail -n 1 /etc/group && ls /etc']);
  t.equal(w.code, 0, 'the container writes a file, appends to /etc/group and removes /etc/passwd', output(w));
  t.equal(w.stdout, 'written-in-overlay\nextra:x:4242:\ngroup\n', 'the container sees its own changes', output(w));
  t.notOk(fs.existsSync(path.join(rootfs, 'new-file')), 'the new file is not in the host rootfs');
  t.equal(fs.readFileSync(path.join(rootfs, 'etc', 'group'), 'utf8'), hostGroup, '/etc/group is unchanged on the host');
  t.ok(fs.existsSync(path.join(rootfs, 'etc', 'passwd')), '/etc/passwd is still on the host');
  t.same(treeOf(rootfs), rootBefore, 'the host rootfs is unchanged, file by file');
  if (upper) t.same(treeOf(upper), upperBefore, "the snapshot's upperdir is unchanged");

  const fill = OVERLAY_SIZE_MIB + 16;
  const f = await exec(id, ['dd', 'if=/dev/zero', 'of=/fill', 'bs=1M', `count=${fill}`], { timeoutMs: 60_000 });
  t.not(f.code, 0, `writing ${fill} MiB into a ${OVERLAY_SIZE_MIB} MiB overlay fails`, output(f));
  t.match(f.stderr, /No space left on device/, 'with ENOSPC', output(f));
  t.notOk(fs.existsSync(path.join(rootfs, 'fill')), 'nothing of it reaches the host');
  const again = await exec(id, ['sh', '-c', 'rm /fill && echo small > /small && cat /small']);
  t.equal(again.stdout, 'small\n', 'after removing it, the overlay has room again', output(again));
  t.same(treeOf(rootfs), rootBefore, 'the host rootfs is still unchanged');
});

// ---------------------------------------------------------------------------------------------
// 3. Without the memory overlay, writes reach the host snapshot; shared binds see host changes.

const WRITE_THROUGH: Array<Mode | undefined> = IS_RUNSC_TS ? ['exclusive', 'shared', 'gofer', 'direct'] : [undefined];
/** HOST_CHANGE_DEADLINE_MS bounds how long a host change may take to show in a shared (or direct) bind. */
const HOST_CHANGE_DEADLINE_MS = 3_000;

// Polls `cat FILE` in the container until it prints `want`; returns how long that took, or -1.
async function visibleWithin(id: string, file: string, want: string, deadlineMs: number): Promise<{ ms: number; last: RunResult }> {
  const start = Date.now();
  let last = await exec(id, ['cat', file]);
  while (last.stdout !== want && Date.now() - start < deadlineMs) {
    await sleep(100);
    last = await exec(id, ['cat', file]);
  }
  return { ms: last.stdout === want ? Date.now() - start : -1, last };
}

for (const mode of WRITE_THROUGH) {
  const name = mode ?? RUNTIME;
  t.test(`${name}: a write in the root reaches the host snapshot; host changes in a bind reach the container`, async (t) => {
    const vol = hostDir(`through-${name}`);
    fs.writeFileSync(path.join(vol, 'changing'), 'one\n');
    const id = await startDetached(t, `through-${name}`, mode, bind(vol, '/vol'));
    if (!id) return;
    if (IS_RUNSC_TS) {
      const gofers = goferProcesses().filter((g) => g.id === id);
      t.equal(gofers.length, mode === 'direct' ? 0 : 1, `${mode}: ${mode === 'direct' ? 'no gofer' : 'one gofer'} runs for the container`, { gofers });
    }
    const rootfs = bundleRootfs(id);
    const upper = await snapshotUpper(id);
    const w = await exec(id, ['sh', '-c', `echo "${name} wrote this" > /written && echo "extra:x:4242:" >> /etc/group && echo "to vol" > /vol/from-container`]);
    t.equal(w.code, 0, 'the container writes', output(w));
    const read = (p: string): string => (fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '(missing)');
    t.not(upper, '', `the snapshot's upperdir is found (${upper})`);
    t.equal(read(path.join(upper, 'written')), `${name} wrote this\n`, "the new file is in the snapshot's upperdir");
    t.match(read(path.join(upper, 'etc', 'group')), /\nextra:x:4242:\n$/, "the appended /etc/group is in the snapshot's upperdir");
    if (mode && SNAPSHOT_OVERLAY.includes(mode)) {
      // Nothing is mounted on the bundle rootfs: the gofer serves the image's layer directories.
      t.same(fs.readdirSync(rootfs), [], 'the bundle rootfs on the host is an empty directory');
      t.notOk(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === rootfs), 'nothing is mounted on it');
    } else {
      t.equal(read(path.join(rootfs, 'written')), `${name} wrote this\n`, 'the new file is in the host rootfs');
      t.match(read(path.join(rootfs, 'etc', 'group')), /\nextra:x:4242:\n$/, "the append to /etc/group is in the host's copy");
    }
    t.equal(read(path.join(vol, 'from-container')), 'to vol\n', 'the file written into the bind is in the host dir');

    // A name looked up (and missing) first, then created on the host.
    const missing = await exec(id, ['cat', '/vol/from-host']);
    t.match(missing.stderr, /No such file or directory/, 'the container first finds no /vol/from-host', output(missing));
    const before = await exec(id, ['cat', '/vol/changing']);
    t.equal(before.stdout, 'one\n', 'the container reads /vol/changing', output(before));
    fs.writeFileSync(path.join(vol, 'from-host'), 'made on the host\n');
    fs.writeFileSync(path.join(vol, 'changing'), 'two, longer\n');
    // exclusive promises nothing about host changes: a short look, for the report only.
    const longCaches = mode === 'exclusive' || mode === 'gofer';
    const deadline = longCaches ? 1_000 : HOST_CHANGE_DEADLINE_MS;
    const created = await visibleWithin(id, '/vol/from-host', 'made on the host\n', deadline);
    const changed = await visibleWithin(id, '/vol/changing', 'two, longer\n', deadline);
    const what = (v: { ms: number }): string => (v.ms < 0 ? `not within ${secs(deadline)}` : `after ${v.ms} ms`);
    t.comment(`${name}: a file created on the host shows ${what(created)}; a host change to a read file shows ${what(changed)}`);
    if (longCaches) {
      // exclusive promises nothing about host changes (long caches: only the sandbox changes the files).
      t.pass('exclusive: host changes are not promised to show (reported above)');
    } else {
      t.ok(created.ms >= 0, `a file created on the host appears in the container within ${secs(HOST_CHANGE_DEADLINE_MS)}`, output(created.last));
      t.ok(changed.ms >= 0, `a host change to a file the container read shows within ${secs(HOST_CHANGE_DEADLINE_MS)}`, output(changed.last));
    }
  });
}

// The gofer's fd budget: past half of it, the gofer asks the kernel to drop the least recently
// looked-up names of a file system. Names that are mount points in the container (/proc, /dev,
// /sys, binds) must survive that: the kernel detaches the mounts under a dropped name.
t.test('gofer: mounts survive the gofer dropping names past its fd budget', onlyRunscTs, async (t) => {
  const vol = hostDir('budget');
  // overlay = "none": the files created in the root are the gofer's to serve.
  const id = await startDetached(t, 'budget', 'gofer', bind(vol, '/vol'));
  if (!id) return;
  const gofer = goferProcesses().find((g) => g.id === id);
  t.ok(gofer, 'the gofer is found');
  if (!gofer) return;
  const limit = Number(/^Max open files\s+(\d+)/m.exec(fs.readFileSync(`/proc/${gofer.pid}/limits`, 'utf8'))?.[1] ?? NaN);
  const served = gofer.cmdline.split(' ').filter((a) => a.startsWith('--serve')).length;
  // node_table: high water = (limit / connections) / 2; some names more than that.
  const files = Math.ceil(limit / Math.max(served, 1) / 2) + 1000;
  t.comment(`gofer RLIMIT_NOFILE ${limit}, ${served} file systems: ${files} files pass the root's high water`);
  if (!(files <= 120_000)) {
    t.pass(`skipped: ${files} files would take too long`, { skip: `the gofer's fd limit (${limit}) is too high to reach here` });
    return;
  }
  // The container init's mount table, read from the host (paths as the container sees them), so
  // it stays readable whatever happens to the container's /proc.
  const init = await initPid(id);
  const mountPoints = (): string[] => {
    try {
      return fs.readFileSync(`/proc/${init}/mountinfo`, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split(' ')[4]).sort();
    } catch (err) {
      return [`(${(err as Error).message})`];
    }
  };
  const before = mountPoints();
  t.ok(before.includes('/proc') && before.includes('/vol'), 'the container init\'s mount table is read from the host', { before });
  const make = await exec(id, ['sh', '-c', `mkdir /many && cd /many && seq 1 ${files} | xargs touch && ls | wc -l`], { timeoutMs: 120_000 });
  t.equal(make.stdout.trim(), String(files), `${files} files are created in the root`, output(make));
  await sleep(500); // the pruner runs in its own thread
  const after = mountPoints();
  const lost = before.filter((m) => !after.includes(m));
  t.same(lost, [], 'every mount point (/proc, /dev, /sys, /vol...) is still mounted', { before, after });
  const inside = await exec(id, ['sh', '-c', 'cat /proc/self/mountinfo >/dev/null && ls /dev/null && echo ok']);
  t.equal(inside.stdout, '/dev/null\nok\n', 'the container still reads /proc/self/mountinfo and /dev/null', output(inside));
  const write = await exec(id, ['sh', '-c', 'echo still-the-bind > /vol/probe']);
  t.equal(write.code, 0, 'the container writes into /vol', output(write));
  const inRoot = fs.existsSync(path.join(bundleRootfs(id), 'vol', 'probe'));
  t.ok(fs.existsSync(path.join(vol, 'probe')), 'and the write lands in the host dir', { landedIn: inRoot ? "the rootfs snapshot's /vol" : 'neither' });
});

// The snapshot outlives a task, as under runc: a new task of the same container finds what the
// last one wrote (the sandbox mounts the snapshot's upper layer again over the image).
t.test(`${IS_RUNSC_TS ? 'exclusive' : RUNTIME}: a second task of the container finds the first one's writes`, async (t) => {
  const c = harness();
  const id = await startDetached(t, 'again', IS_RUNSC_TS ? 'exclusive' : undefined);
  if (!id) return;
  const w = await exec(id, ['sh', '-c', 'echo kept > /kept && rm /etc/passwd && mkdir -p /d/e && echo deep > /d/e/f']);
  t.equal(w.code, 0, 'the first task writes a file, removes an image file and makes directories', output(w));
  const k = await c.ctr(['task', 'kill', '--signal', 'SIGKILL', id], { timeoutMs: 20_000 });
  t.equal(k.code, 0, 'ctr task kill exits 0', output(k));
  t.equal(await waitFor(() => taskStatus(c, id), (s) => s === 'STOPPED', 20_000), 'STOPPED', 'the first task stops');
  const d = await c.ctr(['task', 'delete', id], { timeoutMs: 20_000 });
  t.equal(d.code, 0, 'ctr task delete exits 0', output(d));
  const st = await c.ctr(['task', 'start', '-d', id], { timeoutMs: 30_000 });
  t.equal(st.code, 0, 'ctr task start -d starts a second task', output(st));
  t.equal(await waitFor(() => taskStatus(c, id), (s) => s === 'RUNNING', 20_000), 'RUNNING', 'the second task runs');
  const r = await exec(id, ['sh', '-c', 'cat /kept /d/e/f; ls /etc/passwd 2>&1; ls /etc/group']);
  t.equal(r.stdout, "kept\ndeep\nls: /etc/passwd: No such file or directory\n/etc/group\n", "it sees the first task's files and its removal, and the image's other files", output(r));
});

// Bad input through the snapshot overlay: a snapshot whose writable directory is gone. The task
// fails with the container, the step and the cause, and nothing is left behind.
t.test('exclusive: a snapshot without its upper directory fails the task with the step and cause, and leaves nothing', onlyRunscTs, async (t) => {
  const c = harness();
  const leaks = leakCheck(c);
  const id = newId('noupper');
  t.teardown(() => removeContainer(c, id));
  const cr = await c.ctr(['container', 'create', ...runtimeFlags(RUNSC_TS_RUNTIME, 'exclusive'), BUSYBOX_IMAGE, id, 'true'], { timeoutMs: 30_000 });
  t.equal(cr.code, 0, 'ctr container create exits 0', output(cr));
  const m = await c.ctr(['snapshots', 'mounts', '/mnt', id], { timeoutMs: 10_000 });
  const upper = /upperdir=([^,\s]+)/.exec(m.stdout)?.[1] ?? '';
  t.match(upper, /\/fs$/, "the snapshot's upper directory is found", output(m));
  if (!upper) return;
  fs.rmSync(upper, { recursive: true, force: true });
  const st = await c.ctr(['task', 'start', id], { timeoutMs: 30_000 });
  t.not(st.code, 0, 'ctr task start fails', output(st));
  const want = `creating container ${id}: mounting the root overlay (upperdir "${upper}"): no such file or directory`;
  t.ok(st.stderr.includes(want), 'ctr prints the container, the step and the cause', { want, stderr: st.stderr });
  const d = await c.ctr(['container', 'delete', id], { timeoutMs: 20_000 });
  t.equal(d.code, 0, 'ctr container delete exits 0', output(d));
  t.equal(await leaks.report(20_000), NOTHING_LEFT, 'no process, mount or bundle left');
  t.same(goferProcesses().filter((g) => g.id === id), [], 'no gofer of the container left');
});

// An image of three layers, with whiteouts (a file, a directory) and an opaque directory: the
// container sees what runc shows, and changes it the same way, whether the gofer serves each
// layer (overlay "snapshot": the sandbox's overlay reads the whiteouts through FUSE), the host's
// overlay of them (overlay "none") or that under a memory upper layer.
const LAYERED_SCRIPT = [
  'find /data /gone /etc/layer /etc/only3 2>&1 | sort',
  'cat /data/b /data/dir/z /etc/layer /etc/only3',
  'echo ==',
  'rm /data/b && echo new > /data/dir/new && cat /data/dir/new && rm -r /data/dir && mkdir /data/dir && ls -a /data/dir',
  'echo changed > /etc/layer && cat /etc/layer && ls /data && mkdir /gone && ls -a /gone && ls /data/dir /gone | wc -l',
].join('\n');
const LAYERED_WANT = [
  '/data', '/data/b', '/data/dir', '/data/dir/z', '/etc/layer', '/etc/only3', 'find: /gone: No such file or directory',
  'b2', 'z3', '3', '3', '==',
  'new', '.', '..',
  'changed', 'dir', '.', '..', '3',
  '',
].join('\n');
const LAYERED_MODES: Array<Mode | undefined> = IS_RUNSC_TS ? [undefined, 'exclusive', 'gofer', 'memory'] : [undefined];

t.test('an image of three layers: whiteouts and an opaque directory hide what they should, in every mode, as under runc', async (t) => {
  for (const mode of LAYERED_MODES) {
    const runtime = mode ? RUNSC_TS_RUNTIME : REFERENCE;
    const label = mode ?? 'runc';
    const r = await harness().ctr(['run', '--rm', ...runtimeFlags(runtime, mode), LAYERED_IMAGE, newId(`layers-${label}`), 'sh', '-c', LAYERED_SCRIPT], { timeoutMs: 60_000 });
    t.equal(r.code, 0, `${label}: the script exits 0`, output(r));
    t.equal(r.stdout, LAYERED_WANT, `${label}: the layers' files, whiteouts and opaque directory, and the container's changes`, output(r));
  }
});

// Kernel passthrough under the snapshot overlay: each layer is a plain directory, so reading the
// image's files opens them through the gofer and reads them without it.
t.test('exclusive: files of a multi-layer image are read by passthrough (the gofer sees OPEN, never READ)', onlyRunscTs, async (t) => {
  const c = harness();
  const cfg = path.join(c.baseDir, 'fs-exclusive-debug.toml');
  fs.writeFileSync(cfg, 'file-access = "exclusive"\ndebug = true\n');
  const id = newId('passthrough');
  const r = await c.ctr(['run', '--rm', '--runtime', RUNSC_TS_RUNTIME, '--runtime-config-path', cfg, LAYERED_IMAGE, id, 'sh', '-c', 'cat /data/b /etc/only3 && cat /bin/busybox | wc -c'], { timeoutMs: 60_000 });
  t.equal(r.code, 0, 'the container reads three files of two layers', output(r));
  t.equal(r.stdout, `b2\n3\n${fs.statSync(BUSYBOX_BINARY).size}\n`, 'and gets their contents', output(r));
  const lines = fs.readFileSync(c.logPath, 'utf8').split('\n').filter((l) => l.includes(`gofer ${id}: `));
  const serving = lines.filter((l) => /serving .* passthrough on/.test(l));
  t.equal(serving.length, 3, 'the gofer serves the three layers, each with passthrough on', { serving, lines: lines.slice(0, 10) });
  t.ok(lines.some((l) => / OPEN unique=/.test(l)), 'the files are opened through the gofer', { lines: lines.length });
  t.same(lines.filter((l) => / READ unique=/.test(l)), [], 'and never read through it');
});

// A snapshot that is not an overlay (containerd's native snapshotter: a plain directory bound)
// has no writable layer to put over the image: the gofer serves the root, writes included.
t.test('exclusive on a native snapshot: the gofer serves the whole root, and says so in the log', onlyRunscTs, async (t) => {
  const c = harness();
  const id = await startDetached(t, 'native', 'exclusive', ['--snapshotter', 'native']);
  if (!id) return;
  const r = await exec(id, ['sh', '-c', 'echo native-wrote > /native-written && grep -E "^[^ ]+ / " /proc/mounts | cut -d" " -f3']);
  t.equal(r.stdout, 'fuse\n', 'the root is the FUSE file system itself', output(r));
  const host = path.join(bundleRootfs(id), 'native-written');
  t.equal(fs.existsSync(host) ? fs.readFileSync(host, 'utf8') : '(missing)', 'native-wrote\n', 'the write is in the snapshot on the host');
  const said = fs.readFileSync(c.logPath, 'utf8').split('\n').filter((l) => l.includes('not a writable overlay snapshot') && l.includes(`id=${id}`));
  t.equal(said.length, 1, 'the shim logged why the root has no overlay', { said });
});

// ---------------------------------------------------------------------------------------------
// 4. A bind cannot be left (exclusive mode; the same under runc).

t.test('a bind cannot be left: symlinks resolve in the container, `..` stops at its root, hard links are EXDEV', async (t) => {
  const secretDir = hostDir('secret');
  const secret = `secret-${crypto.randomBytes(8).toString('hex')}`;
  const secretFile = path.join(secretDir, 'secret.txt');
  fs.writeFileSync(secretFile, `${secret}\n`);
  const vol = hostDir('escape-vol');
  fs.symlinkSync(secretFile, path.join(vol, 'abs-link')); // absolute host path
  fs.symlinkSync(path.join('..', path.basename(secretDir), 'secret.txt'), path.join(vol, 'rel-link')); // relative, out of the bind
  fs.symlinkSync('/etc/passwd', path.join(vol, 'passwd-link')); // names a path that exists on both sides
  fs.symlinkSync('x', path.join(vol, 'in-link')); // the control: a link inside the bind works
  fs.mkdirSync(path.join(vol, 'sub'));
  fs.writeFileSync(path.join(vol, 'x'), 'inside\n');
  const up = `../${path.basename(secretDir)}/secret.txt`;
  const id = await startDetached(t, 'escape', 'exclusive', bind(vol, '/vol'));
  if (!id) return;
  const hostPasswd = fs.readFileSync('/etc/passwd', 'utf8');
  const imagePasswd = (await exec(id, ['cat', '/etc/passwd'])).stdout;
  t.match(imagePasswd, /^user:x:1000:1000::\/home\/user:\/bin\/sh$/m, "the container's /etc/passwd is the image's");

  const cases: Array<{ what: string; cmd: string; stdout: string; stderr: RegExp }> = [
    { what: 'an absolute symlink to a host file', cmd: 'cat /vol/abs-link', stdout: '', stderr: /can't open '\/vol\/abs-link': No such file or directory/ },
    { what: 'a relative symlink out of the bind', cmd: 'cat /vol/rel-link', stdout: '', stderr: /can't open '\/vol\/rel-link': No such file or directory/ },
    { what: '/vol/.. (one level up)', cmd: `cat /vol/${up}`, stdout: '', stderr: /No such file or directory/ },
    { what: '/vol/sub/../.. (two levels up)', cmd: `cat /vol/sub/../${up}`, stdout: '', stderr: /No such file or directory/ },
    { what: 'cd into the bind and up', cmd: `cd /vol/sub && cd ../.. && cat ${up.slice(3)}`, stdout: '', stderr: /No such file or directory/ },
  ];
  for (const c of cases) {
    const r = await exec(id, ['sh', '-c', c.cmd]);
    t.not(r.code, 0, `${c.what}: \`${c.cmd}\` fails`, output(r));
    t.equal(r.stdout, c.stdout, `${c.what}: prints nothing`, output(r));
    t.match(r.stderr, c.stderr, `${c.what}: with ENOENT`, output(r));
    t.notMatch(r.stdout + r.stderr, secret, `${c.what}: the secret is not read`);
  }
  const il = await exec(id, ['cat', '/vol/in-link']);
  t.equal(il.stdout, 'inside\n', 'the control: a relative symlink within the bind reads its target', output(il));
  const pl = await exec(id, ['cat', '/vol/passwd-link']);
  t.equal(pl.stdout, imagePasswd, "a symlink to /etc/passwd gives the container's /etc/passwd");
  t.not(pl.stdout, hostPasswd, "not the host's");
  const rl = await exec(id, ['readlink', '/vol/abs-link']);
  t.equal(rl.stdout, `${secretFile}\n`, 'readlink gives the link text as written on the host (a string, nothing more)', output(rl));
  const lsUp = await exec(id, ['sh', '-c', 'ls -a /vol/.. && echo == && ls -a /vol/sub/../.. && echo == && ls -a /']);
  const [a, b, root] = lsUp.stdout.split('==\n');
  t.equal(a, root, '/vol/.. lists the container root', output(lsUp));
  t.equal(b, root, '/vol/sub/../.. lists the container root', output(lsUp));

  const ln1 = await exec(id, ['ln', '/vol/x', '/etc/y']);
  t.not(ln1.code, 0, 'ln /vol/x /etc/y fails', output(ln1));
  t.match(ln1.stderr, /Invalid cross-device link/, 'with EXDEV', output(ln1));
  const ln2 = await exec(id, ['ln', '/etc/passwd', '/vol/passwd-hard']);
  t.match(ln2.stderr, /Invalid cross-device link/, 'ln /etc/passwd /vol/passwd-hard fails with EXDEV', output(ln2));
  t.notOk(fs.existsSync(path.join(vol, 'passwd-hard')), 'no link appears in the host dir');
  t.equal(fs.statSync(path.join(vol, 'x')).nlink, 1, '/vol/x still has one link on the host');
  t.equal(fs.readFileSync(secretFile, 'utf8'), `${secret}\n`, 'the secret file is untouched');
});

t.test('a rename race in a bind never lets `..` out of it', async (t) => {
  // On the host: <race>/vol is the bind, <race>/<secret>.txt sits next to it, so that
  // vol/a/../../<secret>.txt names it on the host (but /<secret>.txt, absent, in the container).
  const race = hostDir('race');
  const vol = path.join(race, 'vol');
  fs.mkdirSync(path.join(vol, 'a', 'd'), { recursive: true });
  const secretName = `secret-${crypto.randomBytes(6).toString('hex')}.txt`;
  const secret = `race-secret-${crypto.randomBytes(8).toString('hex')}`;
  fs.writeFileSync(path.join(race, secretName), `${secret}\n`);
  fs.writeFileSync(path.join(vol, secretName), `${secret}\n`); // vol/a/d/../../<name>: inside the bind, must be read
  const id = await startDetached(t, 'race', 'exclusive', bind(vol, '/vol'));
  if (!id) return;
  // The renamer moves /vol/a to /vol/b and back (a fork of mv each); the reader opens paths that
  // climb out of the moving directory with the shell's own open (no fork), and from a cwd inside
  // it. Reads of the in-bind copy are counted, of anything else reported as LEAK.
  const S = secretName;
  const script = `
end=$(( $(date +%s) + 3 ))
( n=0; while [ $(date +%s) -lt $end ]; do mv /vol/a /vol/b && mv /vol/b /vol/a && n=$((n+1)); done; echo "renames $n" ) &
reads=0; inside=0
while [ $(date +%s) -lt $end ]; do
  i=0
  while [ $i -lt 50 ]; do
    for p in /vol/a/../../${S} /vol/b/../../${S} /vol/a/d/../../../${S} /vol/b/d/../../../${S}; do
      if { read -r l < $p; } 2>/dev/null; then echo "LEAK $p: $l"; fi
    done
    for p in /vol/a/d/../../${S} /vol/b/d/../../${S}; do
      if { read -r l < $p; } 2>/dev/null; then inside=$((inside+1)); fi
    done
    if cd /vol/a/d 2>/dev/null || cd /vol/b/d 2>/dev/null; then
      if { read -r l < ../../../${S}; } 2>/dev/null; then echo "LEAK cwd ../../../: $l"; fi
      cd /
    fi
    i=$((i+1)); reads=$((reads+1))
  done
done
wait
echo "reads $reads inside $inside"
ls /vol
`;
  const r = await exec(id, ['sh', '-c', script], { timeoutMs: 60_000 });
  t.equal(r.code, 0, 'the race script exits 0', output(r));
  t.notMatch(r.stdout, /LEAK/, 'no path out of the bind was ever read', output(r));
  t.notMatch(r.stdout.replace(/^LEAK.*$/gm, ''), secret, 'the secret never shows', output(r));
  const renames = Number(/^renames (\d+)$/m.exec(r.stdout)?.[1] ?? 0);
  const reads = Number(/^reads (\d+) inside/m.exec(r.stdout)?.[1] ?? 0);
  const inside = Number(/ inside (\d+)$/m.exec(r.stdout)?.[1] ?? 0);
  t.comment(`race: ${renames} rename pairs, ${reads} rounds of 7 opens, ${inside} in-bind reads`);
  t.ok(renames >= 10, `the directory moved back and forth (${renames} times)`, output(r));
  t.ok(reads >= 100, `the reader raced it (${reads} rounds)`, output(r));
  t.ok(inside > 0, `paths that stay in the bind were read (${inside} times): the reader did open files`, output(r));
  t.same(fs.readdirSync(vol).sort(), ['a', secretName].sort(), 'on the host, the bind holds a (back in place) and its own file');
  t.same(fs.readdirSync(path.join(vol, 'a')), ['d'], 'a/d is intact');
  t.equal(fs.readFileSync(path.join(race, secretName), 'utf8'), `${secret}\n`, 'the file next to the bind is untouched');
});

// ---------------------------------------------------------------------------------------------
// 5. A killed gofer: file access fails promptly, the container can still go.

// strerror's texts (C: "Input/output error", Go: "input/output error"), and busybox's.
const IO_ERROR = /input\/output error|I\/O error|transport endpoint is not connected/i;
const errnoOf = (s: string): string => (/transport endpoint is not connected/i.test(s) ? 'ENOTCONN' : /input\/output error|I\/O error/i.test(s) ? 'EIO' : 'neither EIO nor ENOTCONN');

// killedGofer kills a container's gofer and checks that file access fails at once; ioUring: the
// host offers FUSE over io_uring while the container starts (its gofer serves over the rings).
async function killedGofer(t: TapTest, ioUring: boolean): Promise<void> {
  const c = harness();
  const leaks = leakCheck(c);
  const id = newId(ioUring ? 'goferkillring' : 'goferkill');
  // Running, the gofer's INIT is done: io_uring, once granted, stays with the connection.
  const start = async (): Promise<boolean> => {
    const r = await c.ctr(['run', '-d', ...runtimeFlags(RUNSC_TS_RUNTIME, 'exclusive'), BUSYBOX_IMAGE, id, 'sleep', '100000'], { timeoutMs: 60_000 });
    t.equal(r.code, 0, 'ctr run -d exits 0', output(r));
    if (r.code !== 0) return false;
    t.teardown(() => removeContainer(c, id)); // only if a step below failed
    t.equal(await waitFor(() => taskStatus(c, id), (s) => s === 'RUNNING', 20_000), 'RUNNING', 'the task runs');
    return true;
  };
  if (!(await (ioUring ? withFuseUring(start) : start()))) return;
  const ok = await exec(id, ['cat', '/etc/passwd']);
  t.match(ok.stdout, /^root:x:0:0:/, 'before: cat /etc/passwd works', output(ok));

  // A shell started before the kill waits on stdin, then opens a file itself (no exec).
  let killed: () => void = () => undefined;
  const afterKill = new Promise<void>((resolve) => (killed = resolve));
  const waiter = exec(id, ['sh', '-c', 'read x; { read -r l < /etc/passwd; } 2>&1; echo "read $?"'], {
    closeStdinAfter: afterKill,
    timeoutMs: 40_000,
  });
  const ps = await waitFor(async () => parsePs((await c.ctr(['task', 'ps', id], { timeoutMs: 10_000 })).stdout), (p) => p.length >= 2, 10_000);
  t.ok(ps.length >= 2, 'the waiting shell runs', { ps });

  const gofers = goferProcesses().filter((g) => g.id === id);
  t.equal(gofers.length, 1, 'one runsc-ts-gofer runs with --id <container id>', { gofers });
  if (gofers.length !== 1) {
    killed();
    await waiter;
    return;
  }
  const argv = fs.readFileSync(`/proc/${gofers[0].pid}/cmdline`, 'utf8').split('\0');
  t.equal(argv[argv.indexOf('--io-uring') + 1], ioUring ? 'on' : 'off', `the shim chose the transport: --io-uring ${ioUring ? 'on' : 'off'}`);
  process.kill(gofers[0].pid, 'SIGKILL');
  t.ok(await waitFor(() => !fs.existsSync(`/proc/${gofers[0].pid}/comm`) || goferProcesses().every((g) => g.pid !== gofers[0].pid), (gone) => gone, 5_000), 'the gofer is gone');
  await sleep(200); // the shim learns of it from the child's exit
  killed();

  const w = await waiter;
  t.notOk(w.timedOut, 'the running shell is not stuck', output(w));
  t.match(w.stdout, /can't open '?\/etc\/passwd'?: /, "its open of /etc/passwd fails", output(w));
  t.match(w.stdout, IO_ERROR, 'with an I/O error', output(w));
  t.match(w.stdout, /^read [12]$/m, 'the read reports failure', output(w));
  t.comment(`a running process's open after the gofer died: ${errnoOf(w.stdout)}`);

  // By name (the sentry looks it up in PATH, in the container's root) and by absolute path.
  for (const cmd of [['cat', '/etc/passwd'], ['ls', '/'], ['/bin/cat', '/etc/passwd']]) {
    const start = Date.now();
    const e = await exec(id, cmd, { timeoutMs: 20_000 });
    const ms = Date.now() - start;
    const text = `${e.stdout}${e.stderr}`;
    t.comment(`ctr task exec ${cmd.join(' ')} after the gofer died: exit ${e.code} in ${ms} ms, ${errnoOf(text)}: ${text.trim().split('\n').pop()}`);
    t.notOk(e.timedOut, `${cmd.join(' ')}: does not hang (20 s timeout)`, output(e));
    t.not(e.code, 0, `${cmd.join(' ')}: fails`, output(e));
    t.match(text, IO_ERROR, `${cmd.join(' ')}: with an I/O error (EIO, or ENOTCONN for now)`, output(e));
  }

  const k = await c.ctr(['task', 'kill', '--signal', 'SIGKILL', id], { timeoutMs: 20_000 });
  t.equal(k.code, 0, 'ctr task kill exits 0', output(k));
  t.equal(await waitFor(() => taskStatus(c, id), (s) => s === 'STOPPED', 20_000), 'STOPPED', 'the task stops');
  const d = await c.ctr(['task', 'delete', id], { timeoutMs: 20_000 });
  t.equal(d.code, 0, 'ctr task delete exits 0', output(d));
  const cdel = await c.ctr(['container', 'delete', id], { timeoutMs: 20_000 });
  t.equal(cdel.code, 0, 'ctr container delete exits 0', output(cdel));
  t.equal(await leaks.report(20_000), NOTHING_LEFT, 'no process, mount or bundle left');
  t.same(goferProcesses().filter((g) => g.id === id), [], 'no gofer of the container left');
  const died = fs.readFileSync(c.logPath, 'utf8').split('\n').filter((l) => l.includes('msg="gofer died"') && l.includes(`id=${id}`));
  t.equal(died.length, 1, 'the shim logged "gofer died" with the container id', { died });
  t.match(died[0] ?? '', /killed by SIGKILL/, 'and why: killed by SIGKILL', { died });
}

t.test('a SIGKILLed gofer: file access fails promptly with an I/O error, the container can still be killed and deleted', onlyRunscTs, (t) => killedGofer(t, false));

t.test('the same over FUSE io_uring: requests waiting in the dead gofer\'s rings fail (ENOTCONN), none hangs', {
  skip: onlyRunscTs.skip || (!fs.existsSync(ENABLE_URING) && `this kernel has no FUSE over io_uring (${ENABLE_URING} is missing)`),
}, (t) => killedGofer(t, true));

// ---------------------------------------------------------------------------------------------
// 6. Nothing leaks.

t.test('nothing is left at the end: no container, process, mount, bundle or gofer', async (t) => {
  const c = harness();
  const cs = await c.ctr(['container', 'ls', '-q'], { timeoutMs: 10_000 });
  t.equal(cs.stdout.trim(), '', 'no container record left', output(cs));
  t.equal(await cleanReport(c, 20_000), NOTHING_LEFT, 'no process, mount or bundle left');
  t.same(await waitFor(goferProcesses, (g) => g.length === 0, 10_000), [], 'no runsc-ts-gofer of this file left');
  t.comment(`fsconf timings: ${timings.join(', ')}`);
});
