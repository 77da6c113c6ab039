// Tests that editing containerd's config for the runsc-ts handler is idempotent and reversible.
import t from 'tap';
import { addHandler, HANDLER_BLOCK, removeHandler } from './containerd-config';

const base = 'version = 2\n\n[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true\n';

t.test('add once, add again changes nothing, remove restores the original', async (t) => {
  const once = addHandler(base);
  t.ok(once.includes(HANDLER_BLOCK));
  t.ok(once.startsWith(base));
  t.equal(addHandler(once), once, 'a second add is a no-op');
  t.equal(removeHandler(once), base, 'remove gives back the original text');
  t.equal(removeHandler(base), base, 'remove without the block is a no-op');
});

t.test('an empty or missing config gets a version line', async (t) => {
  const out = addHandler('');
  t.match(out, /^version = 2\n/);
  t.ok(out.includes('runtime_type = "io.containerd.runsc-ts.v1"'));
});

t.test('configs it must not touch are refused with the reason', async (t) => {
  t.throws(() => addHandler('version = 3\n'), /only version 2/);
  t.throws(
    () => addHandler('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc-ts]\n  runtime_type = "x"\n'),
    /already defines a runsc-ts runtime/,
  );
});
