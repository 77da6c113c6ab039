// Tests of the idle reclaimer's timing and growth rule, with a fake reclaim and resident size.
import t from 'tap';
import { IdleReclaimer } from './memory';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fake(residents: number[]): { r: IdleReclaimer; calls: () => number } {
  let calls = 0;
  let i = 0;
  const r = new IdleReclaimer(
    () => calls++,
    () => residents[Math.min(i++, residents.length - 1)],
    30,
  );
  return { r, calls: () => calls };
}

t.test('reclaims once, after the last of a burst of activity', async (t) => {
  const { r, calls } = fake([10 << 20]);
  for (let i = 0; i < 5; i++) {
    r.touch();
    await sleep(10);
  }
  t.equal(calls(), 0, 'not while requests keep coming');
  await sleep(60);
  t.equal(calls(), 1);
});

t.test('skips a reclaim when the resident size has not grown enough since the last', async (t) => {
  // After the first reclaim the resident size reads 10 MiB; then 10 MiB + 100 KiB (skip), then +1 MiB.
  const { r, calls } = fake([10 << 20, (10 << 20) + 100 * 1024, 11 << 20, 11 << 20]);
  r.touch();
  await sleep(60);
  t.equal(calls(), 1, 'first idle period always reclaims');
  r.touch();
  await sleep(60);
  t.equal(calls(), 1, 'grew by less than the threshold: skipped');
  r.touch();
  await sleep(60);
  t.equal(calls(), 2, 'grew past the threshold: reclaimed');
});

t.test('track counts finished requests, failed ones too, as activity', async (t) => {
  const { r, calls } = fake([10 << 20]);
  const h = r.track({
    ok: async (x: number) => x * 2,
    bad: async () => {
      throw new Error('boom');
    },
  });
  t.equal(await h.ok(21), 42, 'results pass through');
  await t.rejects(h.bad(0), /boom/, 'errors pass through');
  await sleep(60);
  t.equal(calls(), 1);
});
