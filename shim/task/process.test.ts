// Tests of the per-process state machine and exit waiting.
import t from 'tap';
import { checkState, Process } from './process';

t.test('legal and illegal operations name the operation and the state', async (t) => {
  t.doesNotThrow(() => checkState('created', 'start'));
  t.throws(() => checkState('running', 'start'), /cannot start process in running state/);
  t.throws(() => checkState('running', 'delete'), /cannot delete process in running state/);
  t.throws(() => checkState('stopped', 'kill'), /cannot kill process in stopped state/);
  t.throws(() => checkState('deleted', 'delete'), /cannot delete process in deleted state/);
  t.doesNotThrow(() => checkState('stopped', 'delete'));
});

t.test('waitExit resolves on exit, and at once after it', async (t) => {
  const p = new Process('c', 'c', '', { stdin: '', stdout: '', stderr: '', terminal: false });
  t.equal(p.isInit, true);
  let woke = false;
  const w = p.waitExit().then(() => (woke = true));
  await new Promise((r) => setImmediate(r));
  t.equal(woke, false);
  p.setExited(3, new Date(0));
  await w;
  t.equal(woke, true);
  t.equal(p.state, 'stopped');
  t.equal(p.exitStatus, 3);
  await p.waitExit();
});
