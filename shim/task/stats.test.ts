// Tests of reading cgroup v1 metrics: mountinfo parsing and the files of a fake hierarchy.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import t from 'tap';
import { io } from '../gen/protos';
import { cgroupV1Mounts } from '../cgroupfs';
import { readMetrics } from './stats';

t.test('v1 controllers are found in mountinfo, unified and other mounts ignored', async (t) => {
  const info = [
    '30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:12 - cgroup cgroup rw,memory',
    '31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:13 - cgroup cgroup rw,cpu,cpuacct',
    '32 25 0:28 / /sys/fs/cgroup/unified rw,nosuid shared:14 - cgroup2 cgroup2 rw',
    '33 25 0:29 / /proc rw - proc proc rw',
  ].join('\n');
  const m = cgroupV1Mounts(info);
  t.equal(m.get('memory'), '/sys/fs/cgroup/memory');
  t.equal(m.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
  t.equal(m.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct');
  t.notOk([...m.values()].includes('/proc'));
});

t.test('metrics come from the cgroup files and encode as cgroups.v1.Metrics', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-ts-cg-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const w = (rel: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  w('mem/pod/c1/memory.usage_in_bytes', '4096\n');
  w('mem/pod/c1/memory.limit_in_bytes', '1048576\n');
  w('mem/pod/c1/memory.stat', 'cache 10\nrss 20\ntotal_rss 30\n');
  w('acct/pod/c1/cpuacct.usage', '123456789\n');
  w('acct/pod/c1/cpuacct.stat', 'user 3\nsystem 2\n');
  w('acct/pod/c1/cpuacct.usage_percpu', '100 200\n');
  w('pids/pod/c1/pids.current', '2\n');
  w('pids/pod/c1/pids.max', 'max\n');
  const mounts = new Map([['memory', path.join(root, 'mem')], ['cpuacct', path.join(root, 'acct')], ['pids', path.join(root, 'pids')]]);
  const m = readMetrics('/pod/c1', mounts);
  t.equal(m.memory!.usage!.usage, 4096);
  t.equal(m.memory!.usage!.limit, 1048576);
  t.equal(m.memory!.rss, 20);
  t.equal(m.memory!.totalRss, 30);
  t.equal(m.cpu!.usage!.total, 123456789);
  t.equal(m.cpu!.usage!.user, 3e7);
  t.same(m.cpu!.usage!.perCpu, [100, 200]);
  t.equal(m.pids!.current, 2);
  t.equal(m.pids!.limit, 0, 'no pids limit is 0, as containerd reports it');
  const round = io.containerd.cgroups.v1.Metrics.decode(io.containerd.cgroups.v1.Metrics.encode(m).finish());
  t.equal(Number(round.memory!.usage!.usage), 4096);
  t.throws(() => readMetrics('/x', new Map()), /cgroup v2 is not supported yet/);
});
