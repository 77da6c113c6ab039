// Runs the gofer's own behaviour suite (sentry-native/gofer/test/gofer_test.py: a FUSE file server
// driven through real mounts, no containerd) and reports each of its tests as a tap test point.
// The suite also runs its io_uring checks (the transport on and off): it sets the fuse module's
// enable_uring for those and puts the previous value back, and skips them on kernels without it.
import * as path from 'path';
import t from 'tap';
import { REPO_DIR, runCommand } from './containerd';
import { PYTHON } from './helpers';

const SUITE = path.join(REPO_DIR, 'sentry-native', 'gofer', 'test', 'gofer_test.py');
const BINARY = path.join(REPO_DIR, 'build', 'Release', 'runsc-ts-gofer');

t.setTimeout(600_000);

t.test('gofer behaviour suite', async (t) => {
  // The suite's own timeouts end it well before this; it unwinds its mounts on SIGTERM too.
  const r = await runCommand(PYTHON, [SUITE, '--binary', BINARY], { timeoutMs: 540_000 });
  let points = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^(ok|FAIL|skip)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    points++;
    if (m[1] === 'ok') t.pass(m[2]);
    else if (m[1] === 'skip') t.pass(m[2], { skip: m[3] || true });
    else t.fail(`${m[2]}: ${m[3]}`);
  }
  t.ok(points > 0, 'the suite ran tests', { stderr: r.stderr.slice(-4000) });
  t.equal(r.code, 0, 'the suite exits 0', { stderr: r.stderr.slice(-4000) });
});
