// Ordinary software in a default `ctr run` container: a dynamically linked C program whose image
// holds only the libraries ldd names, python3 with its standard library (threads, subprocesses,
// signals, pipes, sockets, files; also on the ptrace platform, with overlay none and memory), TCP over
// 127.0.0.1, and a pty opened through /dev/ptmx. Images are made from the host's files
// (image.ts) and cached. RUNSC_TS_IT_RUNTIME=io.containerd.runc.v2 runs the same tests against
// runc, to check the tests themselves. `ctr run -t` and `ctr task exec -t` are ctr.test.ts's.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import t from 'tap';
import { Containerd, REPO_DIR, RUNSC_TS_RUNTIME, RunResult, startContainerd } from './containerd';
import { TapTest, cleanReport, output, removeContainer, uniqueId } from './helpers';
import { DYNAMIC_IMAGE, PYTHON_BINARY, PYTHON_IMAGE, buildDynamicImage, buildPythonImage, importArchive } from './image';
import { buildStatic } from './probe';

/** RUNTIME is the runtime under test: runsc-ts unless RUNSC_TS_IT_RUNTIME names another. */
const RUNTIME = process.env.RUNSC_TS_IT_RUNTIME || RUNSC_TS_RUNTIME;
const IS_RUNSC_TS = RUNTIME === RUNSC_TS_RUNTIME;

const NOTHING_LEFT = 'nothing left over';

const SOFTWARE_DIR = path.join(REPO_DIR, 'integration', 'software');
const DYNAMIC_SOURCE = path.join(SOFTWARE_DIR, 'dynamic.c');
// Not -static: the point is ld.so and shared libraries. --no-as-needed keeps libm a DT_NEEDED
// (so ldd names it) although the program reaches cos only through dlopen.
const DYNAMIC_FLAGS = ['-O2', '-s', '-Wall', '-Wextra', '-Werror', '-pthread', '-Wl,--no-as-needed', '-lm'];
const DYNAMIC_PATH = '/usr/local/bin/dynamic';

// The python tests need the host's interpreter to build their image from.
const NO_PYTHON = !fs.existsSync(PYTHON_BINARY) && `${PYTHON_BINARY} is missing on the host: no python image can be built`;

t.setTimeout(300_000);

let cd: Containerd | undefined;
const harness = (): Containerd => {
  if (!cd) throw new Error('private containerd did not start');
  return cd;
};

t.before(async () => {
  cd = await startContainerd({ label: `software-${RUNTIME.replace(/[^a-z0-9.-]/gi, '_')}` });
});
t.teardown(async () => {
  await cd?.stop();
});

// Each image is built (or taken from the cache) and imported once, by the first test using it.
let dynamicReady: Promise<void> | undefined;
let pythonReady: Promise<void> | undefined;

function dynamicImage(): Promise<void> {
  dynamicReady ??= (async () => {
    // buildStatic only caches a gcc build under a hash of source and flags; these flags are dynamic.
    const binary = buildStatic(DYNAMIC_SOURCE, DYNAMIC_FLAGS, 'software-dynamic');
    const c = harness();
    await importArchive(c, await buildDynamicImage(binary, DYNAMIC_PATH), DYNAMIC_IMAGE, DYNAMIC_IMAGE, c.namespace);
  })();
  return dynamicReady;
}

function pythonImage(): Promise<void> {
  pythonReady ??= (async () => {
    const c = harness();
    await importArchive(c, await buildPythonImage(), PYTHON_IMAGE, PYTHON_IMAGE, c.namespace);
  })();
  return pythonReady;
}

// ctr run --rm --runtime RUNTIME IMAGE <prefix-id> CMD...; the container goes at teardown even
// if ctr timed out before removing it.
function run(t: TapTest, image: string, prefix: string, cmd: string[], flags: string[] = []): Promise<RunResult> {
  const c = harness();
  const id = uniqueId(prefix);
  t.teardown(() => removeContainer(c, id));
  return c.ctr(['run', '--rm', '--runtime', RUNTIME, ...flags, image, id, ...cmd], { timeoutMs: 60_000 });
}

// Runs one of the python programs in integration/software/ with `python3 -c`.
function runPython(t: TapTest, prefix: string, script: string, flags: string[] = []): Promise<RunResult> {
  const code = fs.readFileSync(path.join(SOFTWARE_DIR, script), 'utf8');
  return run(t, PYTHON_IMAGE, prefix, ['python3', '-c', code], flags);
}

// What checks.py prints; hashlib's answer is node's own sha256 of the same bytes.
function expectedChecks(): string[] {
  const sha = crypto.createHash('sha256').update('runsc-ts\n'.repeat(1000)).digest('hex');
  return [
    'threads 4 native ids 4 total 4000',
    'subprocess stdout 42 stderr err status 3',
    'busybox hi',
    "signal handler ['SIGUSR1'] pending ['SIGUSR2'] sigwait SIGUSR2",
    "pipe b'from the child' then eof; child status 7",
    "socketpair b'ping' b'pong' b'via a passed fd'",
    'json {"n": [1, 2.5, null, true], "name": "runsc-ts", "text": "\\u00e9\\u2713"} round trip True',
    `sha256 ${sha}`,
    'tempfile in /tmp size 102400 same True removed True',
    'done',
    '',
  ];
}

// A TCP echo over 127.0.0.1 inside the container; every wait is bounded, so a loopback that
// does not work ends the program with a traceback instead of hanging it.
const LOOPBACK_SCRIPT = `
import socket, threading
srv = socket.create_server(("127.0.0.1", 0))
srv.settimeout(10)
def serve():
    conn, _ = srv.accept()
    with conn:
        conn.sendall(conn.recv(100).upper())
server = threading.Thread(target=serve, daemon=True)
server.start()
with socket.create_connection(srv.getsockname(), timeout=10) as c:
    c.sendall(b"over loopback")
    print("tcp", c.recv(100))
server.join(10)
`;

t.test('a dynamically linked C program runs with only the libraries ldd names: threads, dlopen, getaddrinfo', async (t) => {
  await dynamicImage();
  const r = await run(t, DYNAMIC_IMAGE, 'dynamic', [DYNAMIC_PATH]);
  t.equal(
    r.stdout,
    'ld.so mapped yes\nthreads 4 sum 8002000\ncos(0) 1.0 cos(pi) -1.0\nlocalhost 127.0.0.1 port 80\n',
    'ld.so loads it; threads, dlopen/dlsym and /etc/hosts lookups work',
    output(r),
  );
  t.equal(r.code, 0, 'the program exits 0', output(r));
});

t.test('python3 runs threads, subprocesses, signals, fork and pipes, a socketpair, json, hashlib and tempfile', { skip: NO_PYTHON }, async (t) => {
  await pythonImage();
  const r = await runPython(t, 'python', 'checks.py');
  t.same(r.stdout.split('\n'), expectedChecks(), 'every check prints what it should', output(r));
  t.equal(r.code, 0, 'python3 exits 0', output(r));
});

t.test('python3 checks pass on the ptrace platform, with the gofer serving writes and under the memory overlay too', { skip: NO_PYTHON || (!IS_RUNSC_TS && `${RUNTIME} has none of them`) }, async (t) => {
  await pythonImage();
  for (const [name, toml] of [['ptrace', 'platform = "ptrace"'], ['gofer', 'overlay = "none"'], ['memory', 'overlay = "memory"']]) {
    const cfg = path.join(harness().baseDir, `software-${name}.toml`);
    fs.writeFileSync(cfg, toml + '\n');
    const r = await runPython(t, `python-${name}`, 'checks.py', ['--runtime-config-path', cfg]);
    t.same(r.stdout.split('\n'), expectedChecks(), `${name}: every check prints what it should`, output(r));
    t.equal(r.code, 0, `${name}: python3 exits 0`, output(r));
  }
});

t.test('a TCP echo over 127.0.0.1 works in a fresh network namespace', { skip: NO_PYTHON }, async (t) => {
  await pythonImage();
  const r = await run(t, PYTHON_IMAGE, 'loopback', ['python3', '-c', LOOPBACK_SCRIPT]);
  // The kernel makes lo down in a new network namespace; the runtime brings it up (runc too).
  t.equal(r.stdout, "tcp b'OVER LOOPBACK'\n", 'the server echoes in upper case', output(r));
  t.equal(r.code, 0, 'python3 exits 0', output(r));
});

t.test('a pty from /dev/ptmx works: cooked and raw modes, echo, window size, a pty.fork child', { skip: NO_PYTHON }, async (t) => {
  await pythonImage();
  const r = await runPython(t, 'pty', 'pty_checks.py');
  const expected = [
    'openpty /dev/pts/N isatty True',
    "slave to master b'cooked\\r\\n'",
    "master to slave b'typed line\\n' echo b'typed line\\r\\n'",
    'raw icanon False echo False isig False',
    'raw slave to master all 256 bytes True',
    "raw master to slave b'\\x03\\x04\\x1a\\n' echoed False",
    'winsize through the master 33 99',
    "pty.fork child wrote b'child isatty True session leader True foreground True\\r\\n' status 3",
  ];
  t.same(r.stdout.split('\n'), [...expected, ''], 'every check prints what it should', output(r));
  t.equal(r.code, 0, 'python3 exits 0', output(r));
});

t.test('nothing is left at the end', async (t) => {
  const c = harness();
  const cs = await c.ctr(['container', 'ls', '-q'], { timeoutMs: 10_000 });
  t.equal(cs.stdout.trim(), '', 'no container record left', output(cs));
  t.equal(await cleanReport(c, 20_000), NOTHING_LEFT, 'no process, mount or bundle left');
});
