// Drives runsc-ts through containerd with `ctr`, expecting what runc does: exit codes, stdio,
// exec, kill, tty, stdin EOF, no leaks, clean failures. RUNSC_TS_IT_RUNTIME=io.containerd.runc.v2
// runs the same tests against runc, to check the tests themselves.
import * as fs from 'fs';
import { spawn } from 'child_process';
import * as path from 'path';
import t from 'tap';
import { CTR_BINARY, Containerd, RUNSC_TS_RUNTIME, RunOptions, RunResult, startContainerd } from './containerd';
import {
  TapTest,
  cleanReport,
  crlf,
  ctrTty,
  deleteTask,
  leakCheck,
  output,
  parsePs,
  parseTaskList,
  removeContainer,
  sleep,
  taskStatus,
  uniqueId,
  waitFor,
} from './helpers';
import { BUSYBOX_IMAGE, importImage } from './image';
import { ZYGOTE_SLOTS, zygotePath } from '../shim/bootstrap/zygote-path';
import { leakedProcesses, SHIM_NAMES } from './leftovers';

/** RUNTIME is the runtime under test: runsc-ts unless RUNSC_TS_IT_RUNTIME names another. */
const RUNTIME = process.env.RUNSC_TS_IT_RUNTIME || RUNSC_TS_RUNTIME;

const IMG = BUSYBOX_IMAGE;

/** onlyRunscTs marks tests of runsc-ts's own processes and files, skipped against runc. */
const onlyRunscTs = { skip: RUNTIME !== RUNSC_TS_RUNTIME ? 'runsc-ts only' : false };
const NOTHING_LEFT = 'nothing left over';

// Prints "tty", then waits (up to 5 s) for the window size ctr sets right after start: the
// process may run before ctr's first resize arrives (it does under runc too).
const TTY_PROBE =
  'tty; i=0; s=; while [ -z "$s" ] && [ $i -lt 100 ]; do s=$(stty size 2>/dev/null); i=$((i+1)); [ -n "$s" ] || sleep 0.05; done; echo "size $s"';

t.setTimeout(900_000);

let cd: Containerd | undefined;
const harness = (): Containerd => {
  if (!cd) throw new Error('private containerd did not start');
  return cd;
};

t.before(async () => {
  cd = await startContainerd({ label: `ctr-${RUNTIME.replace(/[^a-z0-9.-]/gi, '_')}` });
  await importImage(cd);
});
t.teardown(async () => {
  await cd?.stop();
});

// ctr run --runtime RUNTIME FLAGS... IMG ID CMD...
function run(flags: string[], id: string, cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  return harness().ctr(['run', '--runtime', RUNTIME, ...flags, IMG, id, ...cmd], { timeoutMs: 60_000, ...opts });
}

// ctr (on a pty) run --runtime RUNTIME -t --rm IMG ID CMD...
function runTty(id: string, cmd: string[], opts: Parameters<typeof ctrTty>[2] = {}): Promise<RunResult> {
  return ctrTty(harness(), ['run', '--runtime', RUNTIME, '-t', '--rm', IMG, id, ...cmd], { timeoutMs: 60_000, ...opts });
}

// Resolves once ctr task ls shows `id` RUNNING, `ended()` turns true, or `timeoutMs` passes.
function untilRunning(id: string, timeoutMs = 30_000, ended: () => boolean = () => false): Promise<string> {
  return waitFor(() => taskStatus(harness(), id), (s) => s === 'RUNNING' || ended(), timeoutMs);
}

// Runs `start` with stdin held open until task `id` runs: ctr passes the end of its stdin on
// to the task only once the task exists (an earlier EOF is lost, under runc too).
async function withStdinUntilRunning(id: string, start: (gate: Promise<unknown>) => Promise<RunResult>): Promise<RunResult> {
  let ended = false;
  const gate = untilRunning(id, 30_000, () => ended);
  const r = await start(gate);
  ended = true;
  await gate;
  return r;
}

// Starts `cmd` in a detached container (removed at teardown) and waits until it is RUNNING.
async function runDetached(t: TapTest, id: string, cmd: string[]): Promise<boolean> {
  const c = harness();
  t.teardown(() => removeContainer(c, id));
  const r = await run(['-d'], id, cmd);
  t.equal(r.code, 0, 'ctr run -d exits 0', output(r));
  if (r.code !== 0) return false;
  const status = await untilRunning(id, 10_000);
  t.equal(status, 'RUNNING', 'ctr task ls shows the task RUNNING');
  return status === 'RUNNING';
}

// Waits until `ctr task ps` lists `n` pids and returns them.
async function pidsOf(id: string, n: number): Promise<number[]> {
  return waitFor(
    async () => parsePs((await harness().ctr(['task', 'ps', id], { timeoutMs: 10_000 })).stdout),
    (p) => p.length === n,
    10_000,
    200,
  );
}

// Host processes of our runtime serving this containerd, for the no-leak checks.
function runtimeProcesses(): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${ent}/cmdline`, 'latin1').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    if (cmd.endsWith(' zygote')) continue; // the warm shim belongs to containerd, not to a container
    if (cmd.includes(harness().baseDir) && SHIM_NAMES.some((n) => cmd.includes(n))) out.push(`${ent}: ${cmd}`);
  }
  return out;
}

// The warm shims (zygotes) of this containerd, by pid (their argv names its address).
function warmShimPids(): number[] {
  return leakedProcesses(harness().baseDir, [], true)
    .filter((p) => p.cmdline.startsWith('containerd-shim-runsc-ts-v1') && p.cmdline.endsWith(' zygote'))
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

// After a run that failed: the container record and every process, mount and bundle are gone.
async function assertGone(t: TapTest, id: string, leaks: ReturnType<typeof leakCheck>): Promise<void> {
  const cs = await harness().ctr(['container', 'ls', '-q'], { timeoutMs: 10_000 });
  t.notOk(cs.stdout.split('\n').includes(id), 'no container record left', output(cs));
  t.equal(await leaks.report(), NOTHING_LEFT, 'no process, mount or bundle left');
}

t.test('run --rm of a command that succeeds exits 0 and leaves nothing', async (t) => {
  const leaks = leakCheck(harness());
  const r = await run(['--rm'], uniqueId('exit0'), ['true']);
  t.equal(r.code, 0, 'ctr run exits 0', output(r));
  t.equal(await leaks.report(), NOTHING_LEFT, 'no process, mount or bundle left');
});

t.test('run --rm returns the exit code of the command', async (t) => {
  const r = await run(['--rm'], uniqueId('exit3'), ['sh', '-c', 'exit 3']);
  t.equal(r.code, 3, 'ctr run exits 3', output(r));
});

t.test('a child killed by SIGKILL is reported to its parent as 128+9', async (t) => {
  const r = await run(['--rm'], uniqueId('child9'), ['sh', '-c', 'sleep 100 & kill -9 $!; wait $!']);
  t.equal(r.code, 137, 'the shell sees its child killed by signal 9 and exits 137', output(r));
});

// As on Linux (and under runc), a signal with no handler sent to a pid namespace's init from
// inside that namespace is dropped, even SIGKILL: `sh -c 'kill -9 $$'` exits 0, not 137.
t.test('PID 1 is not killed by SIGKILL sent from inside its own pid namespace', async (t) => {
  const r = await run(['--rm'], uniqueId('init9'), ['sh', '-c', 'kill -9 $$; echo survived']);
  t.equal(r.stdout, 'survived\n', 'the shell survives kill -9 $$', output(r));
  t.equal(r.code, 0, 'and exits 0', output(r));
});

t.test('stdout and stderr reach ctr separately', async (t) => {
  const r = await run(['--rm'], uniqueId('stdio'), ['sh', '-c', 'echo out; echo err >&2; echo out2']);
  t.equal(r.code, 0, 'ctr run exits 0', output(r));
  t.equal(r.stdout, 'out\nout2\n', 'stdout carries what went to fd 1', output(r));
  t.equal(r.stderr, 'err\n', 'stderr carries what went to fd 2', output(r));
});

t.test('large output arrives complete and in order', async (t) => {
  const r = await run(['--rm'], uniqueId('bigout'), ['seq', '1', '30000']);
  t.equal(r.code, 0, 'ctr run exits 0', { exitCode: r.code, stderr: r.stderr });
  const lines = r.stdout.split('\n');
  t.equal(lines.length, 30001, '30000 lines and a final newline');
  t.equal(lines[0], '1', 'first line');
  t.equal(lines[29999], '30000', 'last line');
});

t.test('stdin reaches the process and its end is seen as EOF', async (t) => {
  const leaks = leakCheck(harness());
  const id = uniqueId('stdin');
  t.teardown(() => removeContainer(harness(), id));
  const r = await withStdinUntilRunning(id, (gate) => run(['--rm'], id, ['cat'], { input: 'data\n', closeStdinAfter: gate }));
  t.equal(r.stdout, 'data\n', 'cat echoes its input', output(r));
  t.equal(r.code, 0, 'cat sees EOF and exits 0', output(r));
  t.equal(await leaks.report(), NOTHING_LEFT, 'no process, mount or bundle left');
});

t.test('large stdin arrives complete', async (t) => {
  const id = uniqueId('bigin');
  t.teardown(() => removeContainer(harness(), id));
  const input = 'x'.repeat(199_999) + '\n';
  const r = await withStdinUntilRunning(id, (gate) => run(['--rm'], id, ['wc', '-c'], { input, closeStdinAfter: gate }));
  t.equal(r.stdout.trim(), '200000', 'wc counts every byte', output(r));
  t.equal(r.code, 0, 'ctr run exits 0', output(r));
});

t.test('a detached task runs, is listed, and runs execs', async (t) => {
  const c = harness();
  const id = uniqueId('detached');
  if (!(await runDetached(t, id, ['sleep', '1000']))) return;
  const ls = await c.ctr(['task', 'ls'], { timeoutMs: 10_000 });
  const row = parseTaskList(ls.stdout).find((r) => r.id === id);
  t.ok(row && row.pid > 0, 'ctr task ls shows the init pid', output(ls));

  const e1 = await c.ctr(['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo in'], { timeoutMs: 30_000 });
  t.equal(e1.stdout, 'in\n', 'exec output reaches ctr', output(e1));
  t.equal(e1.code, 0, 'ctr task exec exits 0', output(e1));

  const e7 = await c.ctr(['task', 'exec', '--exec-id', 'e7', id, 'sh', '-c', 'echo err >&2; exit 7'], { timeoutMs: 30_000 });
  t.equal(e7.code, 7, 'ctr task exec returns the exec exit code', output(e7));
  t.equal(e7.stderr, 'err\n', 'exec stderr reaches ctr', output(e7));

  const again = await c.ctr(['task', 'exec', '--exec-id', 'e1', id, 'true'], { timeoutMs: 30_000 });
  t.equal(again.code, 0, 'an exec id can be reused once its process is gone', output(again));
});

t.test('ctr task ps lists the init and exec pids; SIGTERM ends an exec with 143', async (t) => {
  const c = harness();
  const id = uniqueId('ps');
  if (!(await runDetached(t, id, ['sleep', '1000']))) return;
  const initPid = parseTaskList((await c.ctr(['task', 'ls'], { timeoutMs: 10_000 })).stdout).find((r) => r.id === id)?.pid;
  const before = await pidsOf(id, 1);
  t.same(before, [initPid], 'ctr task ps lists only the init pid', { pids: before, initPid });

  // An exec is not PID 1, so SIGTERM without a handler kills it: 128+15.
  const e2 = c.ctr(['task', 'exec', '--exec-id', 'e2', id, 'sleep', '1000'], { timeoutMs: 60_000 });
  const during = await pidsOf(id, 2);
  t.equal(during.length, 2, 'ctr task ps lists the init and the exec', { pids: during });
  t.ok(initPid !== undefined && during.includes(initPid), 'the init pid is still listed', { pids: during, initPid });
  const kill = await c.ctr(['task', 'kill', '--exec-id', 'e2', '--signal', 'SIGTERM', id], { timeoutMs: 10_000 });
  t.equal(kill.code, 0, 'ctr task kill --exec-id exits 0', output(kill));
  const e2r = await e2;
  t.equal(e2r.code, 143, 'the exec ends with 128+SIGTERM', output(e2r));
  const after = await pidsOf(id, 1);
  t.same(after, [initPid], 'ctr task ps lists only the init pid again', { pids: after, initPid });
  t.equal(await taskStatus(c, id), 'RUNNING', 'the task still runs');
});

t.test('init without a SIGTERM handler survives SIGTERM; SIGKILL ends it with 137', async (t) => {
  const c = harness();
  const leaks = leakCheck(c);
  const id = uniqueId('kill');
  if (!(await runDetached(t, id, ['sleep', '1000']))) return;
  const term = await c.ctr(['task', 'kill', id], { timeoutMs: 10_000 });
  t.equal(term.code, 0, 'ctr task kill (SIGTERM) exits 0', output(term));
  await sleep(1000);
  t.equal(await taskStatus(c, id), 'RUNNING', 'PID 1 ignores a SIGTERM it has no handler for');
  const k = await c.ctr(['task', 'kill', '--signal', 'SIGKILL', id], { timeoutMs: 10_000 });
  t.equal(k.code, 0, 'ctr task kill -s SIGKILL exits 0', output(k));
  t.equal(await waitFor(() => taskStatus(c, id), (s) => s === 'STOPPED'), 'STOPPED', 'the task stops');
  const del = await deleteTask(c, id);
  t.equal(del.result.code, 0, 'ctr task delete exits 0', output(del.result));
  t.equal(del.exitStatus, 137, 'the exit status is 128+SIGKILL', output(del.result));
  const rm = await c.ctr(['container', 'delete', id], { timeoutMs: 20_000 });
  t.equal(rm.code, 0, 'ctr container delete exits 0', output(rm));
  t.equal(await leaks.report(), NOTHING_LEFT, 'no process, mount or bundle left');
});

t.test('an attached ctr run returns 137 when its task is SIGKILLed', async (t) => {
  const c = harness();
  const id = uniqueId('killrun');
  t.teardown(() => removeContainer(c, id));
  let ended = false;
  const r = run(['--rm'], id, ['sleep', '1000']).finally(() => {
    ended = true;
  });
  const status = await untilRunning(id, 30_000, () => ended);
  t.equal(status, 'RUNNING', 'the task runs', ended ? output(await r) : {});
  if (status !== 'RUNNING') return;
  const k = await c.ctr(['task', 'kill', '--signal', '9', id], { timeoutMs: 10_000 });
  t.equal(k.code, 0, 'ctr task kill exits 0', output(k));
  const res = await r;
  t.equal(res.code, 137, 'ctr run exits 137', output(res));
});

// Host pid of the shim serving task `id` (from the bundle's shim.pid), or of that shim's sentry.
function runtimePid(name: string, id: string): number {
  const c = harness();
  let shim = 0;
  try {
    shim = Number(fs.readFileSync(path.join(c.stateDir, 'io.containerd.runtime.v2.task', c.namespace, id, 'shim.pid'), 'utf8'));
  } catch {
    return 0;
  }
  if (name === 'containerd-shim-runsc-ts-v1') return shim;
  for (const tid of fs.readdirSync(`/proc/${shim}/task`)) {
    for (const child of fs.readFileSync(`/proc/${shim}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) {
      if (child && fs.readFileSync(`/proc/${child}/cmdline`, 'latin1').includes(name)) return Number(child);
    }
  }
  return 0;
}

// Runs `sleep` attached, SIGKILLs one runtime process of it, and checks containerd reports the
// task exited and its cleanup leaves nothing behind.
async function killRuntimeProcess(t: TapTest, name: string): Promise<void> {
  const c = harness();
  const leaks = leakCheck(c);
  const id = uniqueId('crash');
  t.teardown(() => removeContainer(c, id));
  let ended = false;
  const r = run(['--rm'], id, ['sh', '-c', 'sleep 1000 & sleep 1000']).finally(() => {
    ended = true;
  });
  const status = await untilRunning(id, 30_000, () => ended);
  t.equal(status, 'RUNNING', 'the task runs', ended ? output(await r) : {});
  if (status !== 'RUNNING') return;
  const pid = runtimePid(name, id);
  t.ok(pid > 0, `found the ${name} process`, { processes: runtimeProcesses() });
  if (pid <= 0) return;
  process.kill(pid, 'SIGKILL');
  const res = await r;
  t.not(res.code, 0, 'ctr run reports the task ended abnormally', output(res));
  t.equal(await leaks.report(20_000), NOTHING_LEFT, 'no container process, shim, sentry, mount or bundle left');
  t.same(runtimeProcesses(), [], 'no containerd-shim-runsc-ts-v1 or runsc-ts-sentry left');
}

t.test('a SIGKILLed shim leaves nothing after containerd cleans up', onlyRunscTs, async (t) => {
  await killRuntimeProcess(t, 'containerd-shim-runsc-ts-v1');
});

t.test('a SIGKILLed sentry ends the task as killed and leaves nothing', onlyRunscTs, async (t) => {
  await killRuntimeProcess(t, 'runsc-ts-sentry');
});

t.test('kill --all ends every process of the task', async (t) => {
  const c = harness();
  const leaks = leakCheck(c);
  const id = uniqueId('killall');
  if (!(await runDetached(t, id, ['sh', '-c', 'sleep 1000 & sleep 1000 & wait']))) return;
  const pids = await pidsOf(id, 3);
  t.equal(pids.length, 3, 'ctr task ps lists the shell and both sleeps', { pids });
  const k = await c.ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id], { timeoutMs: 10_000 });
  t.equal(k.code, 0, 'ctr task kill --all exits 0', output(k));
  t.equal(await waitFor(() => taskStatus(c, id), (s) => s === 'STOPPED'), 'STOPPED', 'the task stops');
  const del = await deleteTask(c, id);
  t.equal(del.exitStatus, 137, 'the exit status is 137', output(del.result));
  const rm = await c.ctr(['container', 'delete', id], { timeoutMs: 20_000 });
  t.equal(rm.code, 0, 'ctr container delete exits 0', output(rm));
  t.equal(await leaks.report(), NOTHING_LEFT, 'no sleep, shim, mount or bundle left');
});

t.test('delete of a running task fails without --force', async (t) => {
  const c = harness();
  const id = uniqueId('delrun');
  if (!(await runDetached(t, id, ['sleep', '1000']))) return;
  const del = await c.ctr(['task', 'delete', id], { timeoutMs: 20_000 });
  t.not(del.code, 0, 'ctr task delete refuses', output(del));
  t.equal(await taskStatus(c, id), 'RUNNING', 'the task still runs');
  const force = await c.ctr(['task', 'delete', '--force', id], { timeoutMs: 20_000 });
  t.equal(force.code, 0, 'ctr task delete --force exits 0', output(force));
  t.equal(await taskStatus(c, id), '', 'the task is gone');
});

t.test('run -t gives the process a terminal of the client size', async (t) => {
  const leaks = leakCheck(harness());
  const r = await runTty(uniqueId('tty'), ['sh', '-c', TTY_PROBE], { rows: 40, cols: 100 });
  const out = crlf(r.stdout);
  t.match(out, /^\/dev\/pts\/\d+$/m, 'tty names a pty', output(r));
  t.match(out, /^size 40 100$/m, 'stty size shows the client window', output(r));
  t.equal(r.code, 0, 'ctr run -t exits 0', output(r));
  t.equal(await leaks.report(), NOTHING_LEFT, 'no process, mount or bundle left');
});

t.test('run -t returns the exit code', async (t) => {
  const r = await runTty(uniqueId('ttyexit'), ['sh', '-c', 'exit 5']);
  t.equal(r.code, 5, 'ctr run -t exits 5', output(r));
});

t.test('run -t passes typed input and ^D to the process', async (t) => {
  const id = uniqueId('ttyin');
  t.teardown(() => removeContainer(harness(), id));
  const r = await withStdinUntilRunning(id, (gate) =>
    runTty(id, ['sh', '-c', 'read x; echo "got $x"; cat; echo done'], { input: 'hello\n', eof: true, closeStdinAfter: gate }),
  );
  const out = crlf(r.stdout);
  t.match(out, /^got hello$/m, 'the line reaches read', output(r));
  t.match(out, /^done$/m, '^D ends cat', output(r));
  t.equal(r.code, 0, 'ctr run -t exits 0', output(r));
});

t.test('exec -t gives the exec a terminal of the client size', async (t) => {
  const c = harness();
  const id = uniqueId('ttyexec');
  if (!(await runDetached(t, id, ['sleep', '1000']))) return;
  const r = await ctrTty(c, ['task', 'exec', '-t', '--exec-id', 't1', id, 'sh', '-c', TTY_PROBE], {
    rows: 50,
    cols: 132,
    timeoutMs: 60_000,
  });
  const out = crlf(r.stdout);
  t.match(out, /^\/dev\/pts\/\d+$/m, 'tty names a pty', output(r));
  t.match(out, /^size 50 132$/m, 'stty size shows the client window', output(r));
  t.equal(r.code, 0, 'ctr task exec -t exits 0', output(r));
});

t.test('exec --user runs as that user from the image passwd', async (t) => {
  const c = harness();
  const id = uniqueId('user');
  if (!(await runDetached(t, id, ['sleep', '1000']))) return;
  const r = await c.ctr(['task', 'exec', '--user', 'user', '--exec-id', 'u1', id, 'id'], { timeoutMs: 30_000 });
  t.equal(r.code, 0, 'ctr task exec exits 0', output(r));
  t.match(r.stdout, /^uid=1000\(user\) gid=1000\(user\)/, 'id shows uid and gid 1000', output(r));
});

// ctr 1.6 `run` has no --user; `task exec --user` resolves the name in the image, client side.
t.test('exec --user of an unknown user fails', async (t) => {
  const c = harness();
  const id = uniqueId('nouser');
  if (!(await runDetached(t, id, ['sleep', '1000']))) return;
  const r = await c.ctr(['task', 'exec', '--user', 'nosuchuser', '--exec-id', 'u2', id, 'id'], { timeoutMs: 30_000 });
  t.not(r.code, 0, 'ctr task exec fails', output(r));
  t.match(r.stderr, /no users found|nosuchuser/, 'the error says the user is unknown', output(r));
  t.equal(await taskStatus(c, id), 'RUNNING', 'the task still runs');
});

t.test('a missing binary fails the run, names it, and leaves nothing', async (t) => {
  const leaks = leakCheck(harness());
  const id = uniqueId('nobin');
  t.teardown(() => removeContainer(harness(), id));
  const r = await run(['--rm'], id, ['/nope']);
  t.not(r.code, 0, 'ctr run fails', output(r));
  t.match(r.stderr, '/nope', 'the error names the binary', output(r));
  t.match(r.stderr, 'no such file or directory', 'the error says it does not exist', output(r));
  await assertGone(t, id, leaks);
});

// runc creates a missing cwd, so a bad cwd is one that cannot be created.
t.test('a cwd that cannot be created fails the run, names it, and leaves nothing', async (t) => {
  const leaks = leakCheck(harness());
  const id = uniqueId('badcwd');
  t.teardown(() => removeContainer(harness(), id));
  const r = await run(['--rm', '--cwd', '/etc/passwd/sub'], id, ['pwd']);
  t.not(r.code, 0, 'ctr run fails', output(r));
  t.match(r.stderr, '/etc/passwd', 'the error names the cwd', output(r));
  t.match(r.stderr, 'not a directory', 'the error gives the cause', output(r));
  await assertGone(t, id, leaks);
});

t.test('a missing cwd is created, as runc does', async (t) => {
  const id = uniqueId('newcwd');
  t.teardown(() => removeContainer(harness(), id));
  const r = await run(['--rm', '--cwd', '/nope/deeper'], id, ['pwd']);
  t.equal(r.code, 0, 'ctr run exits 0', output(r));
  t.equal(r.stdout, '/nope/deeper\n', 'the process starts in the new dir', output(r));
});

t.test('a spec whose rootfs does not exist fails, names the rootfs, and leaves nothing', async (t) => {
  const c = harness();
  const leaks = leakCheck(c);
  const id = uniqueId('norootfs');
  t.teardown(() => removeContainer(c, id));
  const specOut = await c.ctr(['oci', 'spec'], { timeoutMs: 10_000 });
  t.equal(specOut.code, 0, 'ctr oci spec exits 0', output(specOut));
  const spec = JSON.parse(specOut.stdout) as { root: { path: string }; process: { args: string[] } };
  const missing = path.join(c.baseDir, 'no-such-rootfs');
  spec.root.path = missing;
  spec.process.args = ['/bin/true'];
  const specFile = path.join(c.baseDir, `${id}.json`);
  fs.writeFileSync(specFile, JSON.stringify(spec));
  const r = await c.ctr(['run', '--runtime', RUNTIME, '--rm', '--config', specFile, id], { timeoutMs: 60_000 });
  t.not(r.code, 0, 'ctr run fails', output(r));
  t.match(r.stderr, 'rootfs', 'the error is about the rootfs', output(r));
  t.match(r.stderr, missing, 'the error names the path', output(r));
  await assertGone(t, id, leaks);
});

t.test('an exec of a missing binary fails and leaves the task running', async (t) => {
  const c = harness();
  const id = uniqueId('execnobin');
  if (!(await runDetached(t, id, ['sleep', '1000']))) return;
  const r = await c.ctr(['task', 'exec', '--exec-id', 'n1', id, '/nope'], { timeoutMs: 30_000 });
  t.not(r.code, 0, 'ctr task exec fails', output(r));
  t.match(r.stderr, '/nope', 'the error names the binary', output(r));
  t.match(r.stderr, 'no such file or directory', 'the error says it does not exist', output(r));
  t.equal(await taskStatus(c, id), 'RUNNING', 'the task still runs');
  const again = await c.ctr(['task', 'exec', '--exec-id', 'n1', id, 'true'], { timeoutMs: 30_000 });
  t.equal(again.code, 0, 'the failed exec id can be used again', output(again));
});

t.test('pause holds every process of a task and resume lets it go on', async (t) => {
  const c = harness();
  const id = uniqueId('pause');
  // The count is replaced with a rename, never truncated in place: a read never sees an empty file.
  if (!(await runDetached(t, id, ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done']))) return;
  const counter = async (): Promise<number> => Number((await c.ctr(['task', 'exec', '--exec-id', uniqueId('n'), id, 'cat', '/tmp/n'], { timeoutMs: 20_000 })).stdout.trim());
  await sleep(300);
  const p = await c.ctr(['task', 'pause', id], { timeoutMs: 20_000 });
  t.equal(p.code, 0, 'ctr task pause exits 0', output(p));
  t.equal(await taskStatus(c, id), 'PAUSED', 'ctr task ls shows PAUSED');
  const ex = await c.ctr(['task', 'exec', '--exec-id', 'while-paused', id, 'true'], { timeoutMs: 20_000 });
  t.not(ex.code, 0, 'an exec into a paused task fails', output(ex));
  const r = await c.ctr(['task', 'resume', id], { timeoutMs: 20_000 });
  t.equal(r.code, 0, 'ctr task resume exits 0', output(r));
  t.equal(await taskStatus(c, id), 'RUNNING', 'ctr task ls shows RUNNING again');
  const a = await counter();
  await sleep(400);
  t.ok((await counter()) > a, 'the loop runs again after resume');
  // Paused again, the counter must stand still (read it after resume, the only way to look).
  await c.ctr(['task', 'pause', id], { timeoutMs: 20_000 });
  await sleep(100);
  await c.ctr(['task', 'resume', id], { timeoutMs: 20_000 });
  const before = await counter();
  await c.ctr(['task', 'pause', id], { timeoutMs: 20_000 });
  const atPause = before;
  await sleep(1000);
  await c.ctr(['task', 'resume', id], { timeoutMs: 20_000 });
  const after = await counter();
  t.ok(after - atPause < 8, `the loop did not run while paused (${atPause} → ${after} over 1 s paused; running, it counts ~20)`);
});

t.test('the warm shim forks the next start\'s shim and stays warm', onlyRunscTs, async (t) => {
  const c = harness();
  // Earlier runs left the warm shim behind; wait until it answers.
  const slots = Array.from({ length: ZYGOTE_SLOTS }, (_, slot) => zygotePath(c.address, slot));
  const ready = await waitFor(() => slots.every((s) => fs.existsSync(s)), (ok) => ok, 15_000, 100);
  t.ok(ready, 'the warm shim socket exists', { slots });
  const warmBefore = warmShimPids();
  t.equal(warmBefore.length, ZYGOTE_SLOTS, 'one warm shim per slot', { warmBefore });
  const id = uniqueId('warm');
  if (!(await runDetached(t, id, ['sleep', '1000']))) return;
  const pid = runtimePid('containerd-shim-runsc-ts-v1', id);
  const cmd = pid > 0 ? fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim() : '';
  t.match(cmd, new RegExp(`^containerd-shim-runsc-ts-v1 -namespace \\S+ -id ${id} `), 'the serving shim is a copy of the warm shim (its title names the container)', { cmd });
  t.notMatch(cmd, /main\.js/, 'not a shim started cold', { cmd });
  t.same(warmShimPids(), warmBefore, 'the warm shim is still there, unchanged');
  // The copy shares the warm shim's pages until either writes them: that is the point of forking.
  const rollup = pid > 0 ? fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8') : '';
  const sharedDirty = Number(/^Shared_Dirty:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
  t.ok(sharedDirty > 1024, `the serving shim shares its heap with the warm shim (${sharedDirty} kB shared dirty)`, { rollup });
});

t.test('events reach containerd in the order it requires', async (t) => {
  const c = harness();
  const id = uniqueId('events');
  const events = spawn(CTR_BINARY, ['--address', c.address, 'events'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  events.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  t.teardown(() => {
    events.kill('SIGKILL');
  });
  await sleep(300); // subscribed before the first event
  if (!(await runDetached(t, id, ['sleep', '1000']))) return;
  const ex = await c.ctr(['task', 'exec', '--exec-id', 'ev1', id, 'sh', '-c', 'exit 4'], { timeoutMs: 30_000 });
  t.equal(ex.code, 4, 'the exec exits 4', output(ex));
  await c.ctr(['task', 'kill', '--signal', '9', id], { timeoutMs: 10_000 });
  const del = await deleteTask(c, id);
  t.equal(del.exitStatus, 137, 'the task exits 137', output(del.result));
  const topics = await waitFor(
    () => out.split('\n').filter((l) => l.includes(id) && / \/tasks\//.test(l)).map((l) => /(\/tasks\/[a-z-]+)/.exec(l)![1]),
    (ts) => ts.includes('/tasks/delete'),
    10_000,
    100,
  );
  t.same(
    topics,
    ['/tasks/create', '/tasks/start', '/tasks/exec-added', '/tasks/exec-started', '/tasks/exit', '/tasks/exit', '/tasks/delete'],
    'create, start, exec-added, exec-started, exec exit, init exit, delete',
    { events: out },
  );
  const exits = out.split('\n').filter((l) => l.includes(id) && l.includes('/tasks/exit'));
  t.match(exits[0] ?? '', /"id":"ev1".*"exit_status":4/, 'the exec exit carries the exec id and status 4', { exits });
  t.match(exits[1] ?? '', new RegExp(`"id":"${id}".*"exit_status":137`), 'the init exit carries the container id and 137', { exits });
});

t.test('the runtime config file sends the sentry log to debug-log', onlyRunscTs, async (t) => {
  const c = harness();
  const id = uniqueId('cfg');
  const cfg = path.join(c.baseDir, `${id}.toml`);
  const logTemplate = path.join(c.baseDir, 'sentry-logs', '%ID%.%COMMAND%.log');
  fs.writeFileSync(cfg, `platform = "ptrace"\ndebug = true\ndebug-log = "${logTemplate}"\n`);
  const r = await run(['--rm', '--runtime-config-path', cfg], id, ['true']);
  t.equal(r.code, 0, 'ctr run exits 0', output(r));
  const log = path.join(c.baseDir, 'sentry-logs', `${id}.sentry.log`);
  t.ok(fs.existsSync(log), 'the sentry log is where debug-log says');
  t.match(fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '', /runsc-ts-sentry\[\d+\]: debug: .*exec/, 'with debug lines');
});

t.test('strace = true logs the container\'s system calls to debug-log', onlyRunscTs, async (t) => {
  const c = harness();
  const id = uniqueId('strace');
  const cfg = path.join(c.baseDir, `${id}.toml`);
  const logTemplate = path.join(c.baseDir, 'strace', '%ID%.log');
  fs.writeFileSync(cfg, `strace = true\nstrace-log-size = 64\ndebug-log = "${logTemplate}"\n`);
  // /etc/passwd: ctr run (unlike CRI) bind-mounts no /etc/hostname into the image.
  const r = await run(['--rm', '--runtime-config-path', cfg], id, ['cat', '/etc/passwd']);
  t.equal(r.code, 0, 'ctr run exits 0 under strace', output(r));
  const log = path.join(c.baseDir, 'strace', `${id}.log`);
  const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
  t.match(text, /strace: \S+ \d+\/\d+ X openat\(.*"\/etc\/passwd".*\) = \d+ \(\d+ us\)/, 'the openat of /etc/passwd with its fd');
});

t.test('a config flag that is not supported fails the run with the file and the flag', onlyRunscTs, async (t) => {
  const c = harness();
  const leaks = leakCheck(c);
  const id = uniqueId('badcfg');
  const cfg = path.join(c.baseDir, `${id}.toml`);
  fs.writeFileSync(cfg, 'platform = "kvm"\n');
  const r = await run(['--rm', '--runtime-config-path', cfg], id, ['true']);
  t.not(r.code, 0, 'ctr run fails', output(r));
  t.match(r.stderr, `${cfg}: platform = "kvm" is not supported yet`, 'the error names the file and the flag', output(r));
  await assertGone(t, id, leaks);
});

t.test('20 containers come and go without leaking', async (t) => {
  const c = harness();
  // Warm up first, so lazily opened fds (snapshotter, content store) do not count as leaks.
  const warm = await run(['--rm'], uniqueId('warm'), ['true']);
  t.equal(warm.code, 0, 'warm-up run exits 0', output(warm));
  const leaks = leakCheck(c);
  const fdsBefore = c.fdCount();
  const failures: string[] = [];
  for (let i = 0; i < 20; i++) {
    const id = uniqueId(`loop${i}`);
    const r = await run(['--rm'], id, ['sh', '-c', 'echo $$']);
    if (r.code !== 0 || r.stdout.trim() === '') failures.push(`${id}: exit ${r.code}: ${r.stderr.trim()}`);
  }
  t.same(failures, [], 'all 20 runs succeed');
  t.equal(await leaks.report(20_000), NOTHING_LEFT, 'no process, mount or bundle left');
  t.same(runtimeProcesses(), [], 'no containerd-shim-runsc-ts-v1 or runsc-ts-sentry left');
  const fdsAfter = await waitFor(() => c.fdCount(), (n) => n <= fdsBefore + 4, 10_000, 200);
  t.ok(fdsAfter <= fdsBefore + 4, `containerd fds stay flat (${fdsBefore} before, ${fdsAfter} after)`);
});

t.test('nothing is left at the end', async (t) => {
  const c = harness();
  const cs = await c.ctr(['container', 'ls', '-q'], { timeoutMs: 10_000 });
  t.equal(cs.stdout.trim(), '', 'no container record left', output(cs));
  t.equal(await cleanReport(c, 20_000), NOTHING_LEFT, 'no process, mount or bundle left');
  t.same(runtimeProcesses(), [], 'no containerd-shim-runsc-ts-v1 or runsc-ts-sentry left');
});
