// Runs the sentry's own behaviour suite (sentry-native/sentry/test/sentry_test.py: the control
// API driven directly, no containerd) and reports each of its tests as a tap test point.
import * as path from 'path';
import t from 'tap';
import { REPO_DIR, runCommand } from './containerd';
import { PYTHON } from './helpers';

const SUITE = path.join(REPO_DIR, 'sentry-native', 'sentry', 'test', 'sentry_test.py');
const BINARY = path.join(REPO_DIR, 'build', 'Release', 'runsc-ts-sentry');

t.test('sentry behaviour suite', async (t) => {
  const r = await runCommand(PYTHON, [SUITE, '--binary', BINARY], { timeoutMs: 300_000 });
  let points = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^(ok|FAIL)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    points++;
    if (m[1] === 'ok') t.pass(m[2]);
    else t.fail(`${m[2]}: ${m[3]}`);
  }
  t.ok(points > 0, 'the suite ran tests', { stderr: r.stderr.slice(-4000) });
  t.equal(r.code, 0, 'the suite exits 0', { stderr: r.stderr.slice(-4000) });
});
