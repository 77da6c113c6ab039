// Control group: proves the harness (private containerd, busybox image, ctr, leftovers) with the
// real runc runtime (io.containerd.runc.v2), so a failing runsc-ts test points at runsc-ts.
import * as fs from 'fs';
import t from 'tap';
import { Containerd, RUNC_RUNTIME, startContainerd } from './containerd';
import { cleanReport, deleteTask, parseTaskList, removeContainer, output, taskStatus, uniqueId, waitFor } from './helpers';
import { BUSYBOX_IMAGE, importImage } from './image';

t.setTimeout(300_000);

let cd: Containerd | undefined;
const harness = (): Containerd => {
  if (!cd) throw new Error('private containerd did not start');
  return cd;
};

t.before(async () => {
  cd = await startContainerd({ label: 'smoke-runc' });
  await importImage(cd);
});
t.teardown(async () => {
  await cd?.stop();
});

t.test('the private containerd is ours and lists the busybox image', async (t) => {
  const c = harness();
  t.match(c.baseDir, /runsc-ts-it/, 'base dir is a runsc-ts-it temp dir');
  t.not(c.address, '/run/containerd/containerd.sock', 'not the system socket');
  const images = await c.ctr(['images', 'ls', '-q'], { timeoutMs: 20_000 });
  t.equal(images.code, 0, 'ctr images ls exits 0', output(images));
  t.ok(images.stdout.split('\n').includes(BUSYBOX_IMAGE), `${BUSYBOX_IMAGE} listed`);
});

t.test('run --rm prints stdout and returns the exit code', async (t) => {
  const c = harness();
  const id = uniqueId('smoke');
  const r = await c.ctr(['run', '--runtime', RUNC_RUNTIME, '--rm', BUSYBOX_IMAGE, id, 'sh', '-c', 'echo hello; exit 3'], {
    timeoutMs: 60_000,
  });
  t.equal(r.code, 3, 'ctr run exits with the command status 3', output(r));
  t.equal(r.stdout, 'hello\n', 'stdout is hello');
  t.equal(await cleanReport(c), 'nothing left over', 'no process, mount or bundle left');
});

t.test('a detached task accepts an exec and ends with 137 after SIGKILL', async (t) => {
  const c = harness();
  const id = uniqueId('smoke-d');
  t.teardown(() => removeContainer(c, id));
  const run = await c.ctr(['run', '--runtime', RUNC_RUNTIME, '-d', BUSYBOX_IMAGE, id, 'sleep', '1000'], { timeoutMs: 60_000 });
  t.equal(run.code, 0, 'ctr run -d exits 0', output(run));
  const ls = await c.ctr(['task', 'ls'], { timeoutMs: 10_000 });
  const row = parseTaskList(ls.stdout).find((r) => r.id === id);
  t.equal(row?.status, 'RUNNING', 'task ls shows the task RUNNING', output(ls));
  t.ok((row?.pid ?? 0) > 0, 'task has a pid');

  // Positive control for leftovers(): a running task's shim, rootfs mount and bundle show up.
  const live = c.leftovers();
  t.ok(live.processes.length > 0, 'the running shim counts as a leftover while the task runs');
  t.ok(live.mounts.some((m) => m.includes(id)), 'the rootfs mount counts as a leftover while the task runs');
  t.ok(live.bundles.some((b) => b.endsWith(`/${id}`)), 'the bundle counts as a leftover while the task runs');

  const exec = await c.ctr(['task', 'exec', '--exec-id', 'x', id, 'true'], { timeoutMs: 30_000 });
  t.equal(exec.code, 0, 'ctr task exec true exits 0', output(exec));
  const kill = await c.ctr(['task', 'kill', '--signal', '9', id], { timeoutMs: 10_000 });
  t.equal(kill.code, 0, 'ctr task kill exits 0', output(kill));
  t.equal(await waitFor(() => taskStatus(c, id), (s) => s === 'STOPPED'), 'STOPPED', 'the task stops');
  const del = await deleteTask(c, id);
  t.equal(del.result.code, 0, 'ctr task delete exits 0', output(del.result));
  t.equal(del.exitStatus, 137, 'ctr task delete reports exit status 137');
  const rm = await c.ctr(['container', 'delete', id], { timeoutMs: 20_000 });
  t.equal(rm.code, 0, 'ctr container delete exits 0', output(rm));
  t.equal(await cleanReport(c), 'nothing left over', 'no process, mount or bundle left');
});

t.test('stop() removes everything and can be called twice', async (t) => {
  const c = await startContainerd({ label: 'smoke-runc-stop' });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await c.stop();
  });
  await importImage(c);
  const id = uniqueId('smoke-stop');
  const run = await c.ctr(['run', '--runtime', RUNC_RUNTIME, '-d', BUSYBOX_IMAGE, id, 'sleep', '1000'], { timeoutMs: 60_000 });
  t.equal(run.code, 0, 'ctr run -d exits 0', output(run));
  const pid = c.pid;
  await c.stop();
  await c.stop();
  stopped = true;
  t.notOk(fs.existsSync(c.baseDir), 'base dir removed');
  t.throws(() => process.kill(pid, 0), 'containerd is gone');
  t.same(c.leftovers(), { processes: [], mounts: [], bundles: [] }, 'no process, mount or bundle left');
  t.notOk(fs.existsSync(c.shimSocket(id)), 'the shim socket is gone');
});
