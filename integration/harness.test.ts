// Tests the harness's own pure parts without containerd: the TAP counter and argv parsing of
// summary.js, the tar writer (checked by GNU tar), ctr argument rewriting, output parsers and the
// CRI pieces (CNI network config, CRI log lines, message encoding).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import t from 'tap';
import { cniConflist, criNetworkFor, withFifoDir } from './containerd';
import { runtime } from './cri';
import { parseCriLog } from './cri-pods';
import { crlf, parsePs, parseTaskList } from './helpers';
import { tar } from './image';
import { mountsUnder } from './leftovers';
import { TapCounter, formatTotals, parseArgs } from './summary';

const count = (text: string): TapCounter => {
  const c = new TapCounter();
  for (const line of text.split('\n')) c.line(line);
  return c;
};

t.test('the TAP counter counts points one level below each file', async (t) => {
  const c = count(
    [
      'TAP version 14',
      '1..2',
      '# Subtest: a.test.js',
      '    # Subtest: one',
      '        ok 1 - inner',
      '        not ok 2 - inner failures do not count on their own',
      '        1..2',
      '    not ok 1 - one # time=1ms',
      '      ---',
      '      at:',
      '    ok: this YAML line is not a test point',
      '      ...',
      '    ok 2 - two',
      '    ok 3 - skipped # SKIP no reason',
      '    not ok 4 - todo # TODO later',
      '    1..4',
      'not ok 1 - a.test.js # time=10ms',
      '# Subtest: b.test.js',
      '    1..0 # no tests found',
      'not ok 2 - b.test.js # time=5ms',
      '# { total: 9 }',
    ].join('\n'),
  );
  t.same(c.totals, { passed: 1, failed: 2, skipped: 2 }, 'one pass, one failure plus one crashed file, skip and todo');
  t.equal(c.files, 2, 'two files reported');
});

t.test('a file that passes with no points inside adds nothing; a skipped file counts as skipped', async (t) => {
  const c = count(['# Subtest: x', '    1..0', 'ok 1 - x', '# Subtest: y', '    1..0 # SKIP', 'ok 2 - y # SKIP nothing'].join('\n'));
  t.same(c.totals, { passed: 0, failed: 0, skipped: 1 });
});

t.test('summary options parse and the totals line has a fixed shape', async (t) => {
  t.same(parseArgs(['--jobs', '2', '--accumulate', 'f.json', '--final', 'a.js', 'b.js']), {
    jobs: 2,
    final: true,
    accumulate: 'f.json',
    files: ['a.js', 'b.js'],
  });
  t.equal(parseArgs(['--jobs=3', '--timeout=0']).timeout, 0);
  t.throws(() => parseArgs(['--final']), /--final needs --accumulate/);
  t.throws(() => parseArgs(['--bogus']), /unknown option/);
  t.equal(formatTotals({ passed: 3, failed: 1, skipped: 0 }), '3 passed, 1 failed');
  t.equal(formatTotals({ passed: 3, failed: 0, skipped: 2 }), '3 passed, 0 failed, 2 skipped');
});

t.test('the tar writer produces archives GNU tar reads back', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-ts-tar-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const long = `${'d'.repeat(90)}/${'f'.repeat(90)}`;
  const archive = tar([
    { name: 'dir', type: 'dir', mode: 0o1777 },
    { name: 'dir/file', type: 'file', mode: 0o640, uid: 1000, gid: 1000, data: Buffer.from('hello\n') },
    { name: 'dir/link', type: 'symlink', mode: 0o777, linkname: 'file' },
    { name: long.split('/')[0], type: 'dir', mode: 0o755 },
    { name: long, type: 'file', mode: 0o644, data: Buffer.alloc(1000, 0x61) },
  ]);
  t.equal(archive.length % 512, 0, 'whole 512-byte blocks');
  const file = path.join(dir, 'a.tar');
  fs.writeFileSync(file, archive);
  const list = spawnSync('tar', ['tvf', file], { encoding: 'utf8' });
  t.equal(list.status, 0, 'tar lists it', { stderr: list.stderr });
  t.match(list.stdout, /^drwxrwxrwt root\/root\s+0 2000-01-01 00:00 dir\/$/m, 'sticky dir');
  t.match(list.stdout, /^-rw-r----- 1000\/1000\s+6 .* dir\/file$/m, 'file with owner');
  t.match(list.stdout, /^lrwxrwxrwx .* dir\/link -> file$/m, 'symlink');
  t.match(list.stdout, new RegExp(`${long}$`, 'm'), 'a name over 100 bytes uses the ustar prefix');
  const out = path.join(dir, 'x');
  fs.mkdirSync(out);
  const x = spawnSync('tar', ['xf', file, '-C', out], { encoding: 'utf8' });
  t.equal(x.status, 0, 'tar extracts it', { stderr: x.stderr });
  t.equal(fs.readFileSync(path.join(out, 'dir/link'), 'utf8'), 'hello\n', 'content through the symlink');
  t.equal(fs.readFileSync(path.join(out, long), 'utf8'), 'a'.repeat(1000), 'content of the long-named file');
});

t.test('ctr calls that make FIFOs get --fifo-dir; others are left alone', async (t) => {
  t.same(withFifoDir(['run', '--rm', 'img', 'id'], '/f'), ['run', '--fifo-dir', '/f', '--rm', 'img', 'id']);
  t.same(withFifoDir(['task', 'exec', '--exec-id', 'e', 'id', 'true'], '/f'), ['task', 'exec', '--fifo-dir', '/f', '--exec-id', 'e', 'id', 'true']);
  t.same(withFifoDir(['t', 'start', 'id'], '/f'), ['t', 'start', '--fifo-dir', '/f', 'id']);
  t.same(withFifoDir(['task', 'ls'], '/f'), ['task', 'ls']);
  t.same(withFifoDir(['run', '--fifo-dir', '/mine', 'img', 'id'], '/f'), ['run', '--fifo-dir', '/mine', 'img', 'id']);
});

t.test('ctr output parsers', async (t) => {
  t.same(parseTaskList('TASK    PID     STATUS    \nabc     42      RUNNING\ndef     0       STOPPED\n'), [
    { id: 'abc', pid: 42, status: 'RUNNING' },
    { id: 'def', pid: 0, status: 'STOPPED' },
  ]);
  t.same(parsePs('PID     INFO\n9234    -\n9280    &ProcessDetails{ExecID:e2,XXX_unrecognized:[],}\n'), [9234, 9280]);
  t.equal(crlf('a\r\r\nb\r\n'), 'a\nb\n');
});

t.test('mountsUnder finds nothing under a fresh dir', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-ts-mnt-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.same(mountsUnder(dir), []);
});

t.test('the CNI network of a containerd is private: own bridge, no gateway, no masquerade, no routes', async (t) => {
  const a = criNetworkFor('/tmp/runsc-ts-it-aaaaaa');
  const b = criNetworkFor('/tmp/runsc-ts-it-bbbbbb');
  t.not(a.bridge, b.bridge, 'each containerd gets its own bridge');
  t.ok(a.bridge.length <= 15, `bridge name ${a.bridge} fits IFNAMSIZ`);
  t.match(a.subnet, /^198\.1[89]\.\d+\.0\/24$/, 'subnet in the benchmarking range');
  const conf = JSON.parse(cniConflist(a, '/tmp/runsc-ts-it-aaaaaa')) as {
    name: string;
    plugins: { type: string; bridge: string; isGateway: boolean; ipMasq: boolean; ipam: { routes: unknown[]; dataDir: string } }[];
  };
  t.equal(conf.name, a.name);
  t.same(
    conf.plugins.map((p) => p.type),
    ['bridge'],
    'only the bridge plugin (the CRI adds loopback itself)',
  );
  const br = conf.plugins[0];
  t.equal(br.bridge, a.bridge);
  t.equal(br.isGateway, false, 'no address on the host side');
  t.equal(br.ipMasq, false, 'no masquerade');
  t.same(br.ipam.routes, [], 'no routes');
  t.equal(br.ipam.dataDir, '/tmp/runsc-ts-it-aaaaaa/cni/ipam', 'IPAM state under the base dir');
});

t.test('CRI log lines parse into time, stream, tag and text', async (t) => {
  t.same(parseCriLog('2024-01-02T03:04:05.123456789Z stdout F hello\n2024-01-02T03:04:05Z stderr P par\nnot a log line\n'), [
    { time: '2024-01-02T03:04:05.123456789Z', stream: 'stdout', tag: 'F', text: 'hello' },
    { time: '2024-01-02T03:04:05Z', stream: 'stderr', tag: 'P', text: 'par' },
  ]);
});

t.test('CRI messages use the upstream field numbers', async (t) => {
  const v1 = runtime.v1;
  // RunPodSandboxRequest{config(1){linux(8){cgroup_parent(1) "/p"}}, runtime_handler(2) "h"}
  const run = Buffer.from(v1.RunPodSandboxRequest.encode({ config: { linux: { cgroupParent: '/p' } }, runtimeHandler: 'h' }).finish());
  t.equal(run.toString('hex'), '0a0642040a022f70120168', 'RunPodSandboxRequest bytes');
  // NamespaceOption{pid(2) CONTAINER=1}
  t.equal(Buffer.from(v1.NamespaceOption.encode({ pid: v1.NamespaceMode.CONTAINER }).finish()).toString('hex'), '1001');
  t.equal(v1.NamespaceMode.TARGET, 3, 'NamespaceMode TARGET is 3');
  // ExecSyncResponse{stdout(1) "hi", exit_code(3) 3}
  const exec = v1.ExecSyncResponse.decode(Buffer.from('0a0268691803', 'hex'));
  t.equal(Buffer.from(exec.stdout).toString(), 'hi');
  t.equal(exec.exitCode, 3);
});
