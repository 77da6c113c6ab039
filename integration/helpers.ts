// Small helpers shared by the integration tests: unique ids, polling, running ctr on a pty,
// waiting for a containerd to be clean, and reading ctr's table output.
import * as crypto from 'crypto';
import * as fs from 'fs';
import type t from 'tap';
import { CTR_BINARY, Containerd, RunOptions, RunResult, runCommand, withFifoDir } from './containerd';
import { Leftovers, describeLeftovers, isClean } from './leftovers';

/** TapTest is the type of the `t` a tap subtest callback receives. */
export type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

/** PYTHON is the interpreter that runs the pty wrapper (Debian's, not a user's pyenv shim). */
export const PYTHON = '/usr/bin/python3';

/** uniqueId returns a container id unique to this run, starting with `prefix`. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
}

/** sleep resolves after `ms` milliseconds. */
/** ENABLE_URING is the fuse module's switch for FUSE over io_uring (Linux 6.14+). */
export const ENABLE_URING = '/sys/module/fuse/parameters/enable_uring';

/**
 * withFuseUring runs fn while the fuse module offers io_uring, then puts the host's setting back.
 * A gofer started meanwhile serves over io_uring (the shim picks it, the kernel grants it at
 * INIT), and its connections keep it afterwards; runsc-ts itself never changes the setting.
 */
export async function withFuseUring<T>(fn: () => Promise<T>): Promise<T> {
  const old = fs.readFileSync(ENABLE_URING, 'utf8').trim();
  fs.writeFileSync(ENABLE_URING, 'Y');
  try {
    return await fn();
  } finally {
    fs.writeFileSync(ENABLE_URING, old);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * waitFor polls `probe` every `intervalMs` until `done` accepts its value or `timeoutMs`
 * passes, and returns the last value either way (the caller asserts on it).
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() >= deadline) return v;
    await sleep(intervalMs);
  }
}

/**
 * settledLeftovers waits (up to `timeoutMs`) for shims to exit and bundles to be removed,
 * which finish shortly after ctr returns, and returns what is still left over.
 */
export function settledLeftovers(cd: Containerd, timeoutMs = 10_000): Promise<Leftovers> {
  return waitFor(() => cd.leftovers(), isClean, timeoutMs, 200);
}

/** LeakCheck reports what appeared since it was made and is still there (see leakCheck). */
export interface LeakCheck {
  /** report waits up to `timeoutMs` for new leftovers to go; 'nothing left over' if they did. */
  report(timeoutMs?: number): Promise<string>;
}

/**
 * leakCheck snapshots `cd.leftovers()` now, so a test reports only its own leaks and not
 * those of an earlier failed test.
 */
export function leakCheck(cd: Containerd): LeakCheck {
  const before = cd.leftovers();
  const pids = new Set(before.processes.map((p) => p.pid));
  const mounts = new Set(before.mounts);
  const bundles = new Set(before.bundles);
  const fresh = (): Leftovers => {
    const now = cd.leftovers();
    return {
      processes: now.processes.filter((p) => !pids.has(p.pid)),
      mounts: now.mounts.filter((m) => !mounts.has(m)),
      bundles: now.bundles.filter((b) => !bundles.has(b)),
    };
  };
  return {
    report: async (timeoutMs = 10_000) => describeLeftovers(await waitFor(fresh, isClean, timeoutMs, 200)),
  };
}

/** cleanReport is `describeLeftovers` of settledLeftovers; 'nothing left over' when clean. */
export async function cleanReport(cd: Containerd, timeoutMs = 10_000): Promise<string> {
  return describeLeftovers(await settledLeftovers(cd, timeoutMs));
}

// Runs argv[4:] on a new pty whose window is rows x cols, copies our stdin to it and its output
// to our stdout, and exits with the command's status (128+N if killed by signal N). With "eof",
// end of our stdin is passed on as the terminal's EOF character.
const PTY_WRAPPER = `
import errno, fcntl, os, pty, select, struct, sys, termios
rows, cols, eof, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "eof", sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    try:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
stdin_open = True
while True:
    r, _, _ = select.select([fd] + ([0] if stdin_open else []), [], [])
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not data:
            break
        os.write(1, data)
    if 0 in r:
        data = os.read(0, 65536)
        if data:
            os.write(fd, data)
        else:
            stdin_open = False
            if eof:
                os.write(fd, b"\\x04")
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
`;

/** TtyOptions sizes the pty and says whether end of input is sent as ^D. */
export interface TtyOptions extends RunOptions {
  rows?: number;
  cols?: number;
  eof?: boolean;
}

/**
 * ctrTty runs `ctr ...args` against `cd` with a pty as its stdin/stdout/stderr (as `ctr -t`
 * needs), sized rows x cols (default 24x80). Output arrives with CRLF line ends.
 */
export function ctrTty(cd: Containerd, args: string[], opts: TtyOptions = {}): Promise<RunResult> {
  const ctrArgs = [CTR_BINARY, '--address', cd.address, '-n', cd.namespace, ...withFifoDir(args, cd.fifoDir)];
  return runCommand(
    PYTHON,
    ['-c', PTY_WRAPPER, String(opts.rows ?? 24), String(opts.cols ?? 80), opts.eof ? 'eof' : 'noeof', ...ctrArgs],
    opts,
  );
}

/** crlf turns a terminal's CRLF line ends into LF. */
export function crlf(s: string): string {
  return s.replace(/\r\n/g, '\n').replace(/\r/g, '');
}

/** TaskRow is one line of `ctr task ls`. */
export interface TaskRow {
  id: string;
  pid: number;
  status: string;
}

/** parseTaskList parses `ctr task ls` output into rows. */
export function parseTaskList(stdout: string): TaskRow[] {
  return stdout
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3)
    .map(([id, pid, status]) => ({ id, pid: Number(pid), status }));
}

/** parsePs returns the pids listed by `ctr task ps`. */
export function parsePs(stdout: string): number[] {
  return stdout
    .split('\n')
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** taskStatus returns the status `ctr task ls` shows for `id`, or '' if it is not listed. */
export async function taskStatus(cd: Containerd, id: string): Promise<string> {
  const r = await cd.ctr(['task', 'ls'], { timeoutMs: 10_000 });
  return parseTaskList(r.stdout).find((row) => row.id === id)?.status ?? '';
}

/**
 * deleteTask deletes a stopped task and returns its exit status, which ctr 1.6 only reports as
 * a warning on stderr ("exit with non-zero exit code N"); 0 when there is no warning.
 */
export async function deleteTask(cd: Containerd, id: string): Promise<{ result: RunResult; exitStatus: number }> {
  const result = await cd.ctr(['task', 'delete', id], { timeoutMs: 20_000 });
  const m = /exit with non-zero exit code (\d+)/.exec(result.stderr);
  return { result, exitStatus: m ? Number(m[1]) : 0 };
}

/** removeContainer force-deletes the task of `id` (if any) and the container; never throws. */
export async function removeContainer(cd: Containerd, id: string): Promise<void> {
  await cd.ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id], { timeoutMs: 10_000 });
  await cd.ctr(['task', 'delete', '--force', id], { timeoutMs: 20_000 });
  await cd.ctr(['container', 'delete', id], { timeoutMs: 20_000 });
}

/** CommandOutput is a RunResult shaped as tap assertion diagnostics (printed on failure). */
export interface CommandOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** output turns a RunResult into assertion diagnostics: `t.equal(r.code, 0, 'msg', output(r))`. */
export function output(r: RunResult): CommandOutput {
  return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
}
