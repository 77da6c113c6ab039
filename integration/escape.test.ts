// Escape attempts from a default `ctr run` container (root, default capabilities, no seccomp
// profile): each dangerous system call fails with its exact errno, the host's processes, fds and
// files stay out of reach, and ordinary software still works. RUNSC_TS_IT_RUNTIME=
// io.containerd.runc.v2 runs the same tests against runc, to check the tests themselves.
import * as fs from 'fs';
import * as path from 'path';
import t from 'tap';
import { Containerd, RUNSC_TS_RUNTIME, RunResult, startContainerd } from './containerd';
import { TapTest, cleanReport, output, removeContainer, taskStatus, uniqueId, waitFor } from './helpers';
import { BUSYBOX_IMAGE, importImage } from './image';
import { installProbe } from './probe';

/** RUNTIME is the runtime under test: runsc-ts unless RUNSC_TS_IT_RUNTIME names another. */
const RUNTIME = process.env.RUNSC_TS_IT_RUNTIME || RUNSC_TS_RUNTIME;
const IS_RUNSC_TS = RUNTIME === RUNSC_TS_RUNTIME;


const NOTHING_LEFT = 'nothing left over';

t.setTimeout(300_000);

let cd: Containerd | undefined;
let probeDir = '';
const harness = (): Containerd => {
  if (!cd) throw new Error('private containerd did not start');
  return cd;
};

t.before(async () => {
  cd = await startContainerd({ label: `escape-${RUNTIME.replace(/[^a-z0-9.-]/gi, '_')}` });
  await importImage(cd);
  probeDir = installProbe(cd.baseDir);
});
t.teardown(async () => {
  await cd?.stop();
});

// ctr run --rm --runtime RUNTIME [FLAGS...] BUSYBOX_IMAGE <prefix-id> CMD...
function run(prefix: string, cmd: string[], flags: string[] = []): Promise<RunResult> {
  return harness().ctr(['run', '--rm', '--runtime', RUNTIME, ...flags, BUSYBOX_IMAGE, uniqueId(prefix), ...cmd], {
    timeoutMs: 60_000,
  });
}

// Runs the probe (bind-mounted read-only at /probe) with `args`.
function runProbe(prefix: string, args: string[]): Promise<RunResult> {
  return run(prefix, ['/probe/escape', ...args], ['--mount', `type=bind,src=${probeDir},dst=/probe,options=rbind:ro`]);
}

/** SyscallResult is one line of `escape syscalls`: the return value and the errno name (or OK). */
interface SyscallResult {
  ret: number;
  errno: string;
}

let syscalls: Promise<{ run: RunResult; results: Map<string, SyscallResult> }> | undefined;

// Runs `escape syscalls` once (one container for every check) and parses its lines.
function syscallResults(): Promise<{ run: RunResult; results: Map<string, SyscallResult> }> {
  syscalls ??= runProbe('syscalls', ['syscalls']).then((r) => {
    const results = new Map<string, SyscallResult>();
    for (const line of r.stdout.split('\n')) {
      const m = /^(\S+) (-?\d+) (\S+)$/.exec(line);
      if (m) results.set(m[1], { ret: Number(m[2]), errno: m[3] });
    }
    return { run: r, results };
  });
  return syscalls;
}

/**
 * Expectation is what one probed call must give under runsc-ts. `runc` says why runc
 * legitimately differs (the assertion is skipped against runc); `todo` marks a known runsc-ts
 * gap, with what it does instead.
 */
interface Expectation {
  name: string;
  errno: string;
  runc?: string;
  todo?: string;
}

// runc has no traps: it relies on the missing capabilities and on the host kernel's config.
const RUNC_KERNEL_CONFIG = 'runc passes it to the host kernel, which may lack it (ENOSYS) instead of denying it';
const RUNC_UNPRIVILEGED_OK = 'runc allows it: Linux lets an unprivileged caller do this';

// Asserts each expectation against the probe's results, in one container run.
async function expectSyscalls(t: TapTest, expectations: Expectation[]): Promise<void> {
  const { run: r, results } = await syscallResults();
  t.equal(r.code, 0, 'the probe exits 0', output(r));
  for (const e of expectations) {
    const got = results.get(e.name);
    const skip = !IS_RUNSC_TS && e.runc ? `${RUNTIME}: ${e.runc}` : false;
    t.equal(got?.errno, e.errno, `${e.name} fails with ${e.errno}`, {
      got,
      skip,
      todo: IS_RUNSC_TS && e.todo ? e.todo : false,
    });
  }
}

t.test('mounting and the new mount API fail with EPERM', async (t) => {
  await expectSyscalls(
    t,
    ['mount', 'umount2', 'pivot_root', 'move_mount', 'open_tree', 'fsopen', 'fspick', 'fsmount', 'mount_setattr'].map(
      (name) => ({ name, errno: 'EPERM' }),
    ),
  );
});

t.test('kernel attack surface is closed: bpf, perf, keys, userfaultfd, modules, kexec, handles, io_uring, I/O ports', async (t) => {
  await expectSyscalls(t, [
    { name: 'bpf', errno: 'EPERM' },
    // perf_event_paranoid <= 2 lets anyone count their own user-space events.
    { name: 'perf_event_open', errno: 'EACCES', runc: RUNC_UNPRIVILEGED_OK },
    // The keyring is not namespaced, and no capability guards one's own keyrings.
    { name: 'keyctl', errno: 'EPERM', runc: RUNC_UNPRIVILEGED_OK },
    { name: 'add_key', errno: 'EPERM', runc: RUNC_UNPRIVILEGED_OK },
    { name: 'request_key', errno: 'EPERM', runc: 'runc lets it run: a missing key is ENOKEY' },
    { name: 'userfaultfd', errno: 'EPERM' },
    { name: 'init_module', errno: 'EPERM', runc: RUNC_KERNEL_CONFIG },
    { name: 'finit_module', errno: 'EPERM', runc: RUNC_KERNEL_CONFIG },
    { name: 'delete_module', errno: 'EPERM', runc: RUNC_KERNEL_CONFIG },
    { name: 'kexec_load', errno: 'EPERM', runc: RUNC_KERNEL_CONFIG },
    { name: 'open_by_handle_at', errno: 'EPERM' },
    // io_uring bypasses per-call mediation; it is ENOSYS, as if the kernel lacked it.
    { name: 'io_uring_setup', errno: 'ENOSYS', runc: RUNC_UNPRIVILEGED_OK },
    { name: 'iopl', errno: 'EPERM', runc: RUNC_KERNEL_CONFIG },
    { name: 'ioperm', errno: 'EPERM', runc: RUNC_KERNEL_CONFIG },
  ]);
});

t.test('namespaces cannot be created or joined', async (t) => {
  await expectSyscalls(t, [
    // An unprivileged user may create a user namespace (user.max_user_namespaces > 0).
    { name: 'unshare_newuser', errno: 'EPERM', runc: RUNC_UNPRIVILEGED_OK },
    { name: 'unshare_newns', errno: 'EPERM' },
    { name: 'setns', errno: 'EPERM' },
    // Namespace flags of clone are denied in the filter; clone3 is ENOSYS (the filter cannot read
    // its flags), so libc falls back to clone, as under Docker's profile.
    { name: 'clone_newuser', errno: 'EPERM', runc: RUNC_UNPRIVILEGED_OK },
    { name: 'clone3_newuser', errno: 'ENOSYS', runc: RUNC_UNPRIVILEGED_OK },
  ]);
});

t.test('host-wide state cannot be changed: reboot, swap, clock, accounting', async (t) => {
  await expectSyscalls(
    t,
    ['reboot', 'swapon', 'swapoff', 'settimeofday', 'clock_settime', 'acct'].map((name) => ({ name, errno: 'EPERM' })),
  );
});

t.test('ptrace fails with EPERM: the sentry is every process tracer', async (t) => {
  await expectSyscalls(t, [
    // Without Yama, a process may trace itself and any process of its own uid.
    { name: 'ptrace_traceme', errno: 'EPERM', runc: RUNC_UNPRIVILEGED_OK },
    { name: 'ptrace_attach_child', errno: 'EPERM', runc: RUNC_UNPRIVILEGED_OK },
    { name: 'ptrace_seize_init', errno: 'EPERM', runc: RUNC_UNPRIVILEGED_OK },
  ]);
});

t.test('both platforms decide every probed call alike (ptrace stops, seccomp notifications)', { skip: !IS_RUNSC_TS && `${RUNTIME} has no platform flag` }, async (t) => {
  const { results: byDefault } = await syscallResults();
  for (const platform of ['ptrace', 'unotify']) {
    const cfg = path.join(harness().baseDir, `platform-${platform}.toml`);
    const log = path.join(harness().baseDir, `platform-${platform}.sentry.log`);
    fs.writeFileSync(cfg, `platform = "${platform}"\ndebug = true\ndebug-log = "${log.replace(/sentry\.log$/, '%COMMAND%.log')}"\n`);
    const r = await run(`syscalls-${platform}`, ['/probe/escape', 'syscalls'], [
      '--runtime-config-path', cfg, '--mount', `type=bind,src=${probeDir},dst=/probe,options=rbind:ro`,
    ]);
    t.equal(r.code, 0, `the probe exits 0 on ${platform}`, output(r));
    const results = new Map<string, string>();
    for (const m of r.stdout.matchAll(/^(\S+) (-?\d+) (\S+)$/gm)) results.set(m[1], m[3]);
    t.ok(results.size > 20, `${platform}: every call probed`, output(r));
    const differ = [...byDefault].filter(([name, got]) => results.get(name) !== got.errno).map(([name, got]) => `${name}: ${got.errno} by default, ${results.get(name)} on ${platform}`);
    t.same(differ, [], `${platform}: the same errno for every call as the default platform`);
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    t.equal(/unotify: container \S+: watching listener/.test(text), platform === 'unotify', `${platform}: a seccomp listener is watched only on unotify`);
    t.match(text, /trap: container \S+ pid \d+ syscall mount \(\d+\): denied/, `${platform}: the sentry decided the trapped mount`);
  }
});

t.test('mknod makes only char devices the container may use, personality only the common personas', async (t) => {
  await expectSyscalls(t, [
    // CAP_MKNOD is among the default capabilities; runc leaves the rest to the device cgroup.
    { name: 'mknod_block', errno: 'EPERM', runc: 'runc lets CAP_MKNOD make any node (the device cgroup stops its use)' },
    { name: 'mknod_mem', errno: 'EPERM', runc: 'runc lets CAP_MKNOD make any node (the device cgroup stops its use)' },
    { name: 'mknod_null', errno: 'OK' },
    { name: 'mknod_old_null', errno: 'OK' },
    { name: 'mknod_fifo', errno: 'OK' },
    { name: 'personality_query', errno: 'OK' },
    { name: 'personality_page_zero', errno: 'EPERM', runc: RUNC_UNPRIVILEGED_OK },
  ]);
});

// Parses busybox `ps -o pid,comm` into [pid, comm] rows (header dropped).
function psRows(stdout: string): Array<[number, string]> {
  return stdout
    .split('\n')
    .slice(1)
    .map((l) => /^\s*(\d+)\s+(\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m): [number, string] => [Number(m[1]), m[2]]);
}

t.test('the container sees only its own processes, not the host nor the sentry', async (t) => {
  // `echo $(cat ...)` keeps sh PID 1: busybox sh would exec a last plain command in its place.
  const script = 'ps -o pid,comm; echo ==; ls /proc > /tmp/p; grep -E "^[0-9]+$" /tmp/p; echo ==; echo $(cat /proc/1/comm)';
  const r = await run('ps', ['sh', '-c', script]);
  t.equal(r.code, 0, 'ctr run exits 0', output(r));
  const [ps = '', procPids = '', initComm = ''] = r.stdout.split('==\n');
  const rows = psRows(ps);
  t.same(
    rows.map(([, comm]) => comm).sort(),
    ['ps', 'sh'],
    'ps lists only the shell and itself (no host process, no runsc-ts-sentry)',
    { ps },
  );
  t.same(rows.find(([, comm]) => comm === 'sh')?.[0], 1, 'the shell is PID 1', { ps });
  t.equal(procPids.trim().split('\n').length, 2, '/proc holds only the shell and ls', { procPids });
  t.equal(initComm.trim(), 'sh', '/proc/1 is the container init', output(r));
});

t.test('the init holds no host fd: ls /proc/self/fd shows 0 1 2 and its own', async (t) => {
  const r = await run('fds', ['ls', '/proc/self/fd']);
  t.equal(r.code, 0, 'ctr run exits 0', output(r));
  t.equal(r.stdout, '0\n1\n2\n3\n', 'only stdio and the fd of the listed directory', output(r));
});

t.test('an exec holds no host fd and sees the init holding none', async (t) => {
  const c = harness();
  const id = uniqueId('execfds');
  t.teardown(() => removeContainer(c, id));
  const d = await c.ctr(['run', '-d', '--runtime', RUNTIME, BUSYBOX_IMAGE, id, 'sleep', '1000'], { timeoutMs: 60_000 });
  t.equal(d.code, 0, 'ctr run -d exits 0', output(d));
  if (d.code !== 0) return;
  t.equal(await waitFor(() => taskStatus(c, id), (s) => s === 'RUNNING'), 'RUNNING', 'the task runs');
  const self = await c.ctr(['task', 'exec', '--exec-id', 'fd1', id, 'ls', '/proc/self/fd'], { timeoutMs: 30_000 });
  t.equal(self.stdout, '0\n1\n2\n3\n', 'the exec has only stdio and its own listing fd', output(self));
  const init = await c.ctr(['task', 'exec', '--exec-id', 'fd2', id, 'ls', '/proc/1/fd'], { timeoutMs: 30_000 });
  t.equal(init.stdout, '0\n1\n2\n', 'the init has only stdio', output(init));
});

t.test('/proc/self/exe of the init is the container binary, not the runtime', async (t) => {
  const r = await run('exe', ['readlink', '/proc/self/exe']);
  t.equal(r.code, 0, 'ctr run exits 0', output(r));
  t.equal(r.stdout, '/bin/busybox\n', 'the link names /bin/busybox inside the rootfs', output(r));
});

const O_PATH = 0o10000000;

// openForWriting tries to open a file for writing (append, nothing written): "OPENED" or the errno code.
function openForWriting(file: string): string {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND));
    return 'OPENED';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

// The runsc-ts processes a container could catch in /proc (clones of the spawner) or never sees
// (the sentry): their executable is the sentry's binary.
function sentryProcesses(): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let comm = '';
    try {
      comm = fs.readFileSync(`/proc/${name}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm === 'runsc-ts-spawn' || comm === 'runsc-ts-sentry') out.push(Number(name));
  }
  return out;
}

t.test('the runtime binary cannot be opened for writing through /proc/<pid>/exe (CVE-2019-5736 class)', async (t) => {
  const c = harness();
  const id = uniqueId('exewatch');
  t.teardown(() => removeContainer(c, id));
  // A privileged container (CAP_SYS_PTRACE, CAP_SYS_ADMIN) watches /proc while execs come in:
  // each exec'd process is a runtime process in the container's PID namespace until it execs.
  const watching = c.ctr(['run', '--rm', '--privileged', '--runtime', RUNTIME, '--mount', `type=bind,src=${probeDir},dst=/probe,options=rbind:ro`,
    BUSYBOX_IMAGE, id, '/probe/escape', 'exewatch', '4'], { timeoutMs: 60_000 });
  t.equal(await waitFor(() => taskStatus(c, id), (s) => s === 'RUNNING'), 'RUNNING', 'the watcher runs');
  // Host side, deterministic, the exploit's own steps: keep an O_PATH fd of the executable of
  // the sentry and of the spawner (whose clones the container can catch), and reopen it for
  // writing once no sentry runs any more (while one runs, the kernel says ETXTBSY).
  const held: number[] = [];
  t.teardown(() => held.forEach((fd) => fs.closeSync(fd)));
  if (IS_RUNSC_TS) {
    for (const pid of sentryProcesses()) {
      try {
        held.push(fs.openSync(`/proc/${pid}/exe`, O_PATH));
      } catch (err) {
        // A clone of the spawner that exec'd or ended meanwhile.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    t.ok(held.length >= 2, 'the executables of a sentry and its spawner are held', { held });
  }
  const deadline = Date.now() + 3000;
  let execs = 0;
  while (Date.now() < deadline) {
    const e = await c.ctr(['task', 'exec', '--exec-id', `w${execs}`, id, 'true'], { timeoutMs: 30_000 });
    if (e.code !== 0) break;
    execs++;
  }
  t.ok(execs > 0, `${execs} execs ran during the watch`);
  const r = await watching;
  t.equal(r.code, 0, 'the watcher exits 0', output(r));
  t.match(r.stdout, /^watched \d+$/m, 'the watcher scanned /proc', output(r));
  const opened = r.stdout.split('\n').filter((l) => l.startsWith('seen ') && l.endsWith(' OPENED'));
  t.same(opened, [], 'no runtime executable was opened for writing', output(r));
  if (!IS_RUNSC_TS) return;
  t.same(await waitFor(async () => sentryProcesses(), (p) => p.length === 0, 15_000), [], 'the sandbox has ended');
  for (const fd of held) t.equal(openForWriting(`/proc/self/fd/${fd}`), 'EROFS', 'the executable, reopened for writing afterwards: EROFS');
});

// What a privileged container does with its mounts, one "name=status" line per step; the writes go
// to the sandbox's own UTS domain name, harmless wherever they land.
const PRIVILEGED_SCRIPT = [
  'mkdir -p /m/t /m/p /m/s /m/b',
  'mount -t tmpfs t /m/t; echo tmpfs=$?',
  'touch /m/t/f; echo tmpfswrite=$?',
  'umount /m/t; echo umount=$?',
  'umount /proc; echo umountproc=$?',
  'echo -n sb > /proc/sys/kernel/domainname; echo procsys=$?',
  'test -c /proc/timer_list; echo timerlistmasked=$?',
  'mount -t proc p /m/p; echo proc=$?',
  'echo -n sb > /m/p/sys/kernel/domainname; echo newprocsys=$?',
  'mount --bind /proc /m/b; echo bind=$?',
  'echo -n sb > /m/b/sys/kernel/domainname; echo bindprocsys=$?',
  'mount -t sysfs s /m/s; echo sysfs=$?',
  'touch /m/s/kernel/x 2>/dev/null; grep -q " /m/s sysfs ro" /proc/mounts; echo sysfsro=$?',
  'test -z "$(find /dev -type b)"; echo noblockdevices=$?',
].join('; ');

t.test('a privileged container mounts and unmounts its own, but the host kernel and disks stay out of reach', async (t) => {
  const r = await run('privileged', ['sh', '-c', PRIVILEGED_SCRIPT], ['--privileged']);
  t.equal(r.code, 0, 'the script exits 0', output(r));
  const steps = new Map([...r.stdout.matchAll(/^(\w+)=(\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
  const RUNC_PRIVILEGED = 'runc gives a privileged container the host: /proc/sys writable, /proc/timer_list unmasked, sysfs rw';
  const expect: [string, 'ok' | 'fails', string | false][] = [
    ['tmpfs', 'ok', false], ['tmpfswrite', 'ok', false], ['umount', 'ok', false],
    ['umountproc', 'fails', IS_RUNSC_TS ? false : 'runc lets a privileged container unmount its /proc'],
    ['procsys', 'fails', !IS_RUNSC_TS && RUNC_PRIVILEGED], ['timerlistmasked', 'ok', !IS_RUNSC_TS && RUNC_PRIVILEGED],
    ['proc', 'ok', false], ['newprocsys', 'fails', !IS_RUNSC_TS && RUNC_PRIVILEGED],
    ['bind', 'ok', false], ['bindprocsys', 'fails', !IS_RUNSC_TS && RUNC_PRIVILEGED],
    ['sysfs', 'ok', false], ['sysfsro', 'ok', !IS_RUNSC_TS && RUNC_PRIVILEGED],
    ['noblockdevices', 'ok', !IS_RUNSC_TS && 'runc gives a privileged container every host device, its disks too'],
  ];
  for (const [step, want, skip] of expect) {
    const got = steps.get(step);
    t.ok(want === 'ok' ? got === 0 : got !== undefined && got !== 0, `${step}: ${want}`, { got, skip: skip ? `${RUNTIME}: ${skip}` : false, ...output(r) });
  }
});

// Each way out of the root is listed after a "== <way>" line; all must list the rootfs itself.
const ESCAPE_PATHS = [
  '/',
  '/proc/1/root/',
  '/proc/self/root/../../',
  '/../../../',
  '/proc/1/cwd/../../../',
  '/tmp/up/',
  '/tmp/abs/../',
];
const ESCAPE_SCRIPT =
  'ln -s ../../../../../../../.. /tmp/up && ln -s / /tmp/abs && ' +
  `for p in ${ESCAPE_PATHS.join(' ')}; do echo "== $p"; ls -a "$p"; done; ` +
  'echo "== passwd"; cat /proc/1/root/../../etc/passwd /tmp/up/etc/passwd';

t.test('paths out of the rootfs (/proc/1/root, .., symlinks) lead back into it', async (t) => {
  const r = await run('paths', ['sh', '-c', ESCAPE_SCRIPT]);
  t.equal(r.code, 0, 'the script exits 0', output(r));
  const sections = new Map<string, string>();
  for (const part of r.stdout.split(/^== /m).slice(1)) {
    const nl = part.indexOf('\n');
    sections.set(part.slice(0, nl), part.slice(nl + 1));
  }
  const root = sections.get('/') ?? '';
  const names = root.split('\n');
  t.ok(names.includes('bin') && names.includes('etc'), 'ls / lists the image', { root });
  t.notOk(names.includes('usr') || names.includes('work'), 'ls / lists no host-only directory', { root });
  for (const p of ESCAPE_PATHS.slice(1)) t.equal(sections.get(p), root, `${p} lists the rootfs`, output(r));
  const passwd = sections.get('passwd') ?? '';
  t.equal(passwd.match(/^user:x:1000:1000::\/home\/user:\/bin\/sh$/gm)?.length, 2, 'both reads give the image /etc/passwd', {
    passwd,
  });
});

t.test('a shell script with pipes, traps and background jobs works', async (t) => {
  const script = [
    "trap 'echo trapped USR1' USR1",
    'kill -USR1 $$',
    'seq 1 100 | grep 7 | wc -l',
    'sleep 100 & pid=$!; kill -TERM $pid; wait $pid; echo "sleep $?"',
    'x=$(echo hello | tr a-z A-Z); echo "$x"',
    "trap 'echo exiting' EXIT",
    'exit 4',
  ].join('\n');
  const r = await run('script', ['sh', '-c', script]);
  t.equal(r.stdout, 'trapped USR1\n19\nsleep 143\nHELLO\nexiting\n', 'every step prints what it should', output(r));
  t.equal(r.code, 4, 'the exit status is the script', output(r));
});

t.test('a multithreaded static program runs: barrier, mutex, a thread-directed signal', async (t) => {
  const r = await runProbe('threads', ['threads', '8']);
  t.equal(r.stdout, 'threads 8 counter 800000 tids 8 usr1 1\n', '8 threads meet, count and take the signal', output(r));
  t.equal(r.code, 0, 'the probe exits 0', output(r));
});

t.test('nothing is left at the end', async (t) => {
  const c = harness();
  const cs = await c.ctr(['container', 'ls', '-q'], { timeoutMs: 10_000 });
  t.equal(cs.stdout.trim(), '', 'no container record left', output(cs));
  t.equal(await cleanReport(c, 20_000), NOTHING_LEFT, 'no process, mount or bundle left');
});
