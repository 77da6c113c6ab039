// Tests of turning OCI linux.resources into cgroup v1 writes.
import t from 'tap';
import { DEFAULT_DEVICES, resourceWrites } from './resources';

t.test('memory, cpu, pids and devices become ordered cgroup writes', async (t) => {
  const w = resourceWrites({
    memory: { limit: 67108864 },
    cpu: { shares: 512, quota: 50000, period: 100000 },
    pids: { limit: 100 },
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'c', major: 136, access: 'rwm' }],
  });
  t.same(w.map((x) => `${x.controller}/${x.file}=${x.value}`), [
    'memory/memory.limit_in_bytes=67108864',
    'cpu/cpu.shares=512',
    'cpu/cpu.cfs_period_us=100000',
    'cpu/cpu.cfs_quota_us=50000',
    'pids/pids.max=100',
    'devices/devices.deny=a *:* rwm',
    'devices/devices.allow=c 1:3 rwm',
    'devices/devices.allow=c 136:* rwm',
    ...DEFAULT_DEVICES.map((d) => `devices/devices.allow=${d}`),
  ]);
});

t.test('absent and zero values write nothing; pids 0 means no limit', async (t) => {
  t.same(resourceWrites({}), []);
  t.same(resourceWrites({ cpu: { shares: 0 } }), []);
  t.same(resourceWrites({ pids: { limit: 0 } }).map((x) => x.value), ['max']);
});
