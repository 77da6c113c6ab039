// Tests of the shim's Go-style flag parsing.
import t from 'tap';
import { parseFlags } from './flags';

t.test('containerd 1.6 start invocation', async (t) => {
  const f = parseFlags(['-namespace', 'default', '-address', '/run/c.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'abc', '-debug', 'start']);
  t.equal(f.namespace, 'default');
  t.equal(f.address, '/run/c.sock');
  t.equal(f.publishBinary, '/usr/bin/containerd');
  t.equal(f.id, 'abc');
  t.equal(f.debug, true);
  t.equal(f.action, 'start');
});

t.test('delete with bundle, = syntax and double dashes', async (t) => {
  const f = parseFlags(['--namespace=k8s.io', '-id=x', '-bundle', '/b', 'delete']);
  t.equal(f.namespace, 'k8s.io');
  t.equal(f.id, 'x');
  t.equal(f.bundle, '/b');
  t.equal(f.action, 'delete');
  t.equal(f.debug, false);
});

t.test('serve has no action; unknown flags are ignored', async (t) => {
  const f = parseFlags(['-namespace', 'n', '-id', 'i', '-address', 'a', '-some-new-flag', 'v']);
  t.equal(f.action, '');
  t.equal(f.id, 'i');
});

t.test('a flag without its value is an error', async (t) => {
  t.throws(() => parseFlags(['-id']), /flag needs an argument: -id/);
});
