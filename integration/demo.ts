// `make demo`: a private containerd runs busybox under runsc-ts; shows from inside and from
// outside that the container is sandboxed (its own namespaces, every process traced by the
// sentry, its files served by its gofer), then stops everything.
import * as fs from 'fs';
import { RUNSC_TS_RUNTIME, startContainerd } from './containerd';
import { BUSYBOX_IMAGE, importImage } from './image';

function status(pid: number, key: string): string {
  try {
    const m = new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? m[1].trim() : '?';
  } catch {
    return '?';
  }
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const c = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

function fullCmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '?';
  }
}

function cmdline(pid: number): string {
  return fullCmdline(pid).slice(0, 90);
}

function tree(pid: number, depth: number, lines: string[]): void {
  const tracer = status(pid, 'TracerPid');
  const nspid = status(pid, 'NSpid').split(/\s+/);
  const traced = tracer !== '0' && tracer !== '?' ? `  [traced by ${tracer}]` : '';
  const inner = nspid.length > 1 ? `  [pid ${nspid[nspid.length - 1]} in the sandbox]` : '';
  lines.push(`${'  '.repeat(depth)}${pid} ${cmdline(pid)}${traced}${inner}`);
  for (const c of children(pid)) tree(c, depth + 1, lines);
}

function section(title: string): void {
  console.log(`\n=== ${title} ===`);
}

async function main(): Promise<void> {
  section('starting a private containerd and importing a locally built busybox image');
  const cd = await startContainerd({ label: 'demo' });
  const id = 'runsc-ts-demo';
  try {
    await importImage(cd);
    console.log(`containerd ${cd.pid} on ${cd.address}; image ${BUSYBOX_IMAGE}`);

    section(`ctr run --rm --runtime ${RUNSC_TS_RUNTIME} busybox sh -c 'echo hello from the sandbox; exit 3'`);
    const once = await cd.ctr(['run', '--rm', '--runtime', RUNSC_TS_RUNTIME, BUSYBOX_IMAGE, 'runsc-ts-once', 'sh', '-c', 'echo hello from the sandbox; exit 3']);
    process.stdout.write(once.stdout + once.stderr);
    console.log(`(ctr exit status ${once.code})`);

    section('ctr run -d: a container that stays up');
    const run = await cd.ctr(['run', '-d', '--runtime', RUNSC_TS_RUNTIME, BUSYBOX_IMAGE, id, 'sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
    if (run.code !== 0) throw new Error(`ctr run -d failed: ${run.stderr.trim()}`);
    await new Promise((r) => setTimeout(r, 300));

    for (const cmd of [['hostname'], ['id'], ['ps', '-o', 'pid,ppid,user,args'], ['sh', '-c', 'grep -E "^(Name|Pid|PPid|TracerPid|Uid|CapEff|NoNewPrivs|Seccomp)" /proc/self/status'], ['sh', '-c', 'mount -t tmpfs x /mnt; echo "mount exit status $?"'], ['sh', '-c', 'awk \'$5 == "/" { print $(NF-2), $NF }\' /proc/self/mountinfo # the root: the image layers the gofer serves (lowerdir 0, 1...) under the snapshot']]) {
      section(`inside: ${cmd.join(' ')}`);
      const r = await cd.ctr(['task', 'exec', '--exec-id', `demo-${Math.random().toString(36).slice(2, 8)}`, id, ...cmd]);
      process.stdout.write(r.stdout + r.stderr);
    }

    section('ctr task ps (host pids)');
    process.stdout.write((await cd.ctr(['task', 'ps', id])).stdout);

    section('outside: the process tree on the host (shim → sentry → container processes)');
    // Warm shims (zygotes) wait for the next start; the demo's container has its own shim.
    const shims = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && /^containerd-shim-runsc-ts-v1 .* -id runsc-ts-demo /.test(fullCmdline(Number(p)) + ' '));
    const lines: string[] = [];
    for (const s of shims) tree(Number(s), 0, lines);
    console.log(lines.join('\n'));

    section('stopping: ctr task kill --all -s KILL, delete');
    await cd.ctr(['task', 'kill', '--all', '-s', 'KILL', id]);
    await new Promise((r) => setTimeout(r, 300));
    const del = await cd.ctr(['task', 'delete', id]);
    process.stdout.write(del.stdout + del.stderr);
    await cd.ctr(['container', 'delete', id]);
  } finally {
    await cd.stop();
  }
  section('done: containerd stopped, nothing left behind');
}

main().catch((err) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
