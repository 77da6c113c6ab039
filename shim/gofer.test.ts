// Tests of the gofer's start-up decisions that need no gofer: which binds it serves, and which
// FUSE transport the shim asks of it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import t from 'tap';
import { fuseOverIoUring, servedByGofer } from './gofer';

// host fakes the two switches the transport depends on (undefined: the file does not exist).
function host(enableUring?: string, ioUringDisabled?: string): (p: string) => string {
  return (p: string): string => {
    const v = p.endsWith('enable_uring') ? enableUring : p.endsWith('io_uring_disabled') ? ioUringDisabled : undefined;
    if (v === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    return v;
  };
}

t.test('io_uring only where the host offers it and lets the gofer use io_uring', async (t) => {
  t.equal(fuseOverIoUring(host('Y\n', '0\n')), true, 'enable_uring Y, io_uring allowed');
  t.equal(fuseOverIoUring(host('Y\n')), true, 'a kernel without io_uring_disabled allows it');
  t.equal(fuseOverIoUring(host('N\n', '0\n')), false, 'enable_uring N: the kernel would not offer it');
  t.equal(fuseOverIoUring(host(undefined, '0\n')), false, 'a kernel without FUSE over io_uring');
  t.equal(fuseOverIoUring(host('Y\n', '1\n')), false, 'io_uring limited to a group');
  t.equal(fuseOverIoUring(host('Y\n', '2\n')), false, 'io_uring disabled');
});

t.test('the gofer serves directory binds outside /dev, /proc and /sys', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gofer-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'x');
  t.ok(servedByGofer({ type: 'bind', source: dir, destination: '/data' }), 'a directory bind');
  t.ok(servedByGofer({ type: 'none', flags: 0x1000, source: dir, destination: '/data' }), 'MS_BIND in the flags');
  t.notOk(servedByGofer({ type: 'bind', source: file, destination: '/etc/hosts' }), 'a file bind stays direct');
  t.notOk(servedByGofer({ type: 'bind', source: dir, destination: '/dev/shm' }), 'under /dev');
  t.notOk(servedByGofer({ type: 'tmpfs', source: 'tmpfs', destination: '/tmp' }), 'not a bind');
  t.notOk(servedByGofer({ type: 'bind', source: path.join(dir, 'missing'), destination: '/x' }), 'a missing source (the sentry names it)');
});
