// Tests of the sandbox config file: TOML parsing, flag validation, runtime options decoding.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import t from 'tap';
import { configFromToml, DEFAULT_CONFIG, loadConfig, parseToml } from './config';
import { runtimeoptions } from './gen/protos';

t.test('flat TOML with comments and a table header', async (t) => {
  const v = parseToml('# runsc-ts\n[runsc-ts]\nplatform = "ptrace"  # the only one\ndebug = true\nx = 3\n', 'f');
  t.same(v, { platform: 'ptrace', debug: true, x: 3 });
  t.throws(() => parseToml('debug = yes\n', 'f.toml'), /f.toml:1: value of debug must be/);
  t.throws(() => parseToml('what\n', 'f.toml'), /f.toml:1: cannot parse/);
});

t.test('flags are validated; what is not built yet says so', async (t) => {
  const c = configFromToml({ network: 'none', debug: 'true', 'debug-log': '/var/log/runsc-ts/%ID%.log', 'log-format': 'json' }, 'f');
  t.equal(c.network, 'none');
  t.equal(c.debug, true);
  t.equal(c.logFormat, 'json');
  t.throws(() => configFromToml({ platform: 'kvm' }, 'f'), /platform = "kvm" is not supported yet \(supported: ptrace, unotify\)/);
  t.throws(() => configFromToml({ platform: 'systrap' }, 'f'), /platform = "systrap" is not supported yet/);
  t.throws(() => configFromToml({ platform: 'bogus' }, 'f'), /platform = "bogus": must be one of ptrace, unotify, kvm, systrap/);
  t.doesNotThrow(() => configFromToml({ overlay: false }, 'f'));
  t.throws(() => configFromToml({ nope: 1 }, 'f'), /unknown flag "nope"/);
});

t.test('the platform flag: ptrace or unotify', async (t) => {
  t.equal(configFromToml({ platform: 'ptrace' }, 'f').platform, 'ptrace');
  t.equal(configFromToml({ platform: 'unotify' }, 'f').platform, 'unotify');
  t.equal(configFromToml({}, 'f').platform, DEFAULT_CONFIG.platform, 'absent = the default');
});

t.test('runtime options name the file; none gives the defaults', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-ts-cfg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'runsc-ts.toml');
  fs.writeFileSync(file, 'network = "host"\n');
  const any = (p: string) => ({ typeUrl: 'runtimeoptions.v1.Options', value: runtimeoptions.v1.Options.encode({ configPath: p }).finish() });
  t.equal(loadConfig(any(file)).network, 'host');
  t.same(loadConfig(null), DEFAULT_CONFIG);
  t.throws(() => loadConfig(any(path.join(dir, 'missing.toml'))), /reading runtime config .*missing.toml: no such file or directory/);
  t.throws(() => loadConfig({ typeUrl: 'containerd.runc.v1.Options', value: new Uint8Array() }), /not understood/);
});

t.test('the strace flags', async (t) => {
  const off = configFromToml({}, 'f');
  t.same([off.strace, off.straceSyscalls, off.straceLogSize], [false, [], 64]);
  const c = configFromToml(parseToml('strace = true\nstrace-syscalls = "openat, read,execve"\nstrace-log-size = 128\n', 'f'), 'f');
  t.equal(c.strace, true);
  t.same(c.straceSyscalls, ['openat', 'read', 'execve']);
  t.equal(c.straceLogSize, 128);
  t.same(configFromToml({ strace: true, 'strace-syscalls': '' }, 'f').straceSyscalls, []);
  t.throws(() => configFromToml({ 'strace-syscalls': 'openat,rm -rf' }, 'f'), /strace-syscalls: "rm -rf" is not a syscall name/);
  t.throws(() => configFromToml({ 'strace-syscalls': true }, 'f'), /strace-syscalls must be a "string"/);
  t.throws(() => configFromToml({ 'strace-log-size': 0 }, 'f'), /strace-log-size must be a number from 1 to 65536/);
  t.throws(() => configFromToml({ 'strace-log-size': '64' }, 'f'), /strace-log-size must be a number/);
  t.throws(() => configFromToml({ strace: 'yes' }, 'f'), /strace must be true or false/);
});

t.test('file access and the root overlay', async (t) => {
  t.equal(configFromToml({}, 'f').fileAccess, 'exclusive', 'a gofer serves files by default');
  t.equal(configFromToml({ 'file-access': 'shared' }, 'f').fileAccess, 'shared');
  t.equal(configFromToml({ 'file-access': 'direct' }, 'f').fileAccess, 'direct');
  t.throws(() => configFromToml({ 'file-access': 'remote' }, 'f'), /file-access = "remote": must be one of exclusive, shared, direct/);
  const o = configFromToml({ overlay: true, 'overlay-size': '64Mi' }, 'f');
  t.equal(o.overlay, 'memory', 'true is the memory upper layer');
  t.equal(o.overlaySize, 64 << 20);
  t.equal(configFromToml({ overlay: true }, 'f').overlaySize, 256 << 20, 'default size');
  t.equal(configFromToml({ 'overlay-size': '2G' }, 'f').overlaySize, 2 * 2 ** 30);
  t.equal(configFromToml({ 'overlay-size': 4194304 }, 'f').overlaySize, 4 << 20, 'plain bytes');
  t.throws(() => configFromToml({ 'overlay-size': '12 parsecs' }, 'f'), /overlay-size must be a size of at least 1Mi/);
  t.throws(() => configFromToml({ 'overlay-size': '512k' }, 'f'), /at least 1Mi/);
  t.throws(() => configFromToml({ overlay: true, 'file-access': 'direct' }, 'f'), /overlay = "memory" needs file-access exclusive or shared/);
  t.equal(configFromToml({}, 'f').overlay, 'snapshot', "the default: the snapshot's upper layer");
  t.equal(configFromToml({ overlay: false }, 'f').overlay, 'none');
  t.equal(configFromToml({ overlay: 'none' }, 'f').overlay, 'none');
  t.equal(configFromToml({ overlay: 'memory' }, 'f').overlay, 'memory');
  t.equal(configFromToml({ overlay: 'snapshot', 'file-access': 'direct' }, 'f').overlay, 'snapshot', 'direct writes into the snapshot anyway');
  t.throws(() => configFromToml({ overlay: 'disk' }, 'f'), /overlay = "disk": must be one of snapshot, memory, none/);
});
