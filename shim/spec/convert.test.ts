// Tests of the OCI spec → sentry spec conversion (mount flags, capabilities, rlimits, validation).
import t from 'tap';
import { capMask, cgroupMounts, convertProcess, convertSpec, MS, parseMountOptions, SANDBOX_MASKED_PATHS, SANDBOX_READONLY_PATHS } from './convert';

t.test('mount options split into flags, propagation and data', async (t) => {
  const o = parseMountOptions(['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
  t.equal(o.flags, MS.NOSUID | MS.STRICTATIME);
  t.equal(o.data, 'mode=755,size=65536k');
  t.equal(o.propagation, 0);
  const b = parseMountOptions(['rbind', 'ro', 'rprivate']);
  t.equal(b.flags, MS.BIND | MS.REC | MS.RDONLY);
  t.equal(b.propagation, MS.PRIVATE | MS.REC);
  t.equal(parseMountOptions(['ro', 'rw']).flags, 0, 'a later rw clears ro');
  t.equal(parseMountOptions(['defaults']).data, '');
});

t.test('capability names become a bit mask; unknown names are rejected', async (t) => {
  t.equal(capMask(['CAP_CHOWN', 'CAP_KILL'], 'x'), (1 << 0) | (1 << 5));
  t.equal(capMask(['CAP_CHECKPOINT_RESTORE'], 'x'), 2 ** 40);
  t.equal(capMask(['net_raw'], 'x'), 1 << 13);
  t.throws(() => capMask(['CAP_NOPE'], 'creating container a'), /creating container a: unknown capability "CAP_NOPE"/);
});

t.test('process validation names the container and the field', async (t) => {
  t.throws(() => convertProcess({ args: [] }, {}, 'creating container c1'), /creating container c1: args must not be empty/);
  t.throws(() => convertProcess({ args: ['sh'], cwd: 'rel' }, {}, 'w'), /cwd "rel" must be an absolute path/);
  t.throws(() => convertProcess({ args: ['sh'], rlimits: [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }] }, {}, 'w'), /unknown rlimit/);
  const p = convertProcess(
    {
      args: ['sh'],
      env: ['A=1'],
      user: { uid: 1000, gid: 1000, additionalGids: [10], umask: 0o22 },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }],
      terminal: true,
      consoleSize: { width: 80, height: 24 },
      noNewPrivileges: true,
    },
    { hasStdin: true },
    'w',
  );
  t.same(p.args, ['sh']);
  t.equal(p.cwd, '/');
  t.equal(p.uid, 1000);
  t.same(p.additionalGids, [10]);
  t.same(p.rlimits, [{ resource: 7, soft: 1024, hard: 2048 }]);
  t.equal(p.hasUmask, true);
  t.equal(p.umask, 0o22);
  t.equal(p.capabilities, null, 'no capabilities section means no capabilities');
  t.same(p.stdio, { hasStdin: true, terminal: true, width: 80, height: 24 });
});

t.test('spec conversion: mounts, devices, namespaces, user namespaces refused', async (t) => {
  const s = convertSpec(
    {
      root: { path: 'rootfs', readonly: true },
      hostname: 'h',
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/data/', type: 'none', source: '/srv', options: ['rbind', 'ro'] },
      ],
      linux: {
        namespaces: [{ type: 'pid' }, { type: 'network', path: '/run/netns/x' }],
        devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }],
        maskedPaths: ['/proc/kcore'],
      },
    },
    '/b/rootfs',
    'w',
  );
  t.equal(s.rootfsReadonly, true);
  t.equal(s.mounts![1].type, 'bind');
  t.equal(s.mounts![1].destination, '/data');
  t.equal(s.mounts![1].flags, MS.BIND | MS.REC | MS.RDONLY);
  t.same(s.namespaces, [{ type: 'pid', path: '' }, { type: 'network', path: '/run/netns/x' }]);
  t.equal(s.devices![0].type, 99);
  t.equal(s.rootfsPropagation, MS.SLAVE | MS.REC);
  t.throws(() => convertSpec({ linux: { namespaces: [{ type: 'user' }] } }, '/r', 'creating container u'), /creating container u: user namespaces are not supported yet/);
  t.throws(() => convertSpec({ mounts: [{ destination: 'rel' }] }, '/r', 'w'), /must be an absolute path/);
});

t.test('every container gets the sandbox floor: masked and read-only paths, a read-only sysfs, no block device', async (t) => {
  const privileged = convertSpec({ mounts: [{ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'rw'] }] }, '/r', 'w');
  t.same(privileged.maskedPaths, SANDBOX_MASKED_PATHS, 'a spec without masked paths (privileged) gets the floor');
  t.same(privileged.readonlyPaths, SANDBOX_READONLY_PATHS);
  t.ok(privileged.readonlyPaths!.includes('/proc/sys') && privileged.maskedPaths!.includes('/proc/kcore'), 'sysctls read-only, kernel memory masked');
  t.equal(privileged.mounts![0].flags! & MS.RDONLY, MS.RDONLY, 'sysfs is read-only even when the spec says rw');
  const own = convertSpec({ linux: { maskedPaths: ['/proc/kcore', '/proc/mine'], readonlyPaths: ['/proc/sys'] } }, '/r', 'w');
  t.same(own.maskedPaths!.slice(0, 2), ['/proc/kcore', '/proc/mine'], "the spec's own come first, once each");
  t.equal(own.maskedPaths!.filter((p) => p === '/proc/kcore').length, 1);
  t.equal(own.readonlyPaths!.length, SANDBOX_READONLY_PATHS.length);
  const devices = convertSpec({ linux: { devices: [{ path: '/dev/sda', type: 'b', major: 8, minor: 0 }, { path: '/dev/fuse', type: 'c', major: 10, minor: 229 }] } }, '/r', 'w').devices!;
  t.same(devices.map((d) => d.path), ['/dev/fuse'], 'no block device, even when the spec lists it (a privileged one lists all the host has)');
});

t.test('a cgroup mount shows the container its own cgroup only, read-only', async (t) => {
  const m = cgroupMounts({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid'] }, '/pod1/c1', [
    '/sys/fs/cgroup/memory',
    '/sys/fs/cgroup/pids',
  ]);
  t.same(
    m.map((x) => `${x.type} ${x.source} -> ${x.destination}${(x.flags! & MS.RDONLY) !== 0 ? ' ro' : ''}${(x.flags! & MS.REMOUNT) !== 0 ? ' remount' : ''}`),
    [
      'tmpfs tmpfs -> /sys/fs/cgroup',
      'bind /sys/fs/cgroup/memory/pod1/c1 -> /sys/fs/cgroup/memory ro',
      'bind /sys/fs/cgroup/pids/pod1/c1 -> /sys/fs/cgroup/pids ro',
      'tmpfs tmpfs -> /sys/fs/cgroup ro remount',
    ],
  );
  t.equal(cgroupMounts({ destination: '/sys/fs/cgroup', type: 'cgroup' }, '', ['/sys/fs/cgroup/memory']).length, 1, 'no cgroup: an empty tmpfs');
});

t.test('the sandbox strace flags reach the seccomp message', async (t) => {
  const off = convertSpec({}, '/r', 'w');
  t.equal(off.seccomp!.strace, false);
  const on = convertSpec({}, '/r', 'w', 'sandbox', { strace: true, straceSyscalls: ['openat'], straceLogSize: 16 });
  t.equal(on.seccomp!.strace, true);
  t.same(on.seccomp!.straceSyscalls, ['openat']);
  t.equal(on.seccomp!.straceLogSize, 16);
});

t.test('the sandbox platform flag reaches the seccomp message', async (t) => {
  t.equal(convertSpec({}, '/r', 'w').seccomp!.platform, 0, 'ptrace without the flag');
  const unotify = convertSpec({}, '/r', 'w', 'sandbox', { strace: false, straceSyscalls: [], straceLogSize: 64, platform: 'unotify' });
  t.equal(unotify.seccomp!.platform, 1);
});

t.test('the device cgroup rules of the spec decide the char devices mknod may create', async (t) => {
  const mknodat = (resources: unknown) =>
    convertSpec({ linux: { resources } }, '/r', 'w').seccomp!.traps!.find((x) => x.name === 'mknodat')!;
  const base = mknodat(undefined).allowIf!.length;
  const more = mknodat({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }] });
  t.equal(more.allowIf!.length, base + 1, 'an allowed fuse device (10:229) adds one pattern');
  t.equal(mknodat({ devices: 'nonsense' }).allowIf!.length, base, 'a malformed list adds nothing');
});

t.test('a privileged process (CAP_SYS_ADMIN effective) gets checked mounts; others a denial', async (t) => {
  const mountTrap = (caps?: string[]) =>
    convertSpec({ process: caps ? { args: ['sh'], capabilities: { effective: caps } } : undefined }, '/r', 'w')
      .seccomp!.traps!.find((x) => x.name === 'mount')!;
  t.same(mountTrap(['CAP_CHOWN', 'CAP_SYS_ADMIN']), { name: 'mount', decision: 2, errno: 1 }, 'MOUNT_CHECKED, EPERM elsewhere');
  t.equal(mountTrap(['sys_admin']).decision, 2, 'a name without CAP_ too');
  t.equal(mountTrap(['CAP_CHOWN']).decision, 0, 'DENY without CAP_SYS_ADMIN');
  t.equal(mountTrap([]).decision, 0, 'DENY with no capabilities');
  t.equal(mountTrap().decision, 0, 'DENY without a process capability set');
  const bounding = convertSpec({ process: { args: ['sh'], capabilities: { bounding: ['CAP_SYS_ADMIN'], permitted: ['CAP_SYS_ADMIN'] } } }, '/r', 'w');
  t.equal(bounding.seccomp!.traps!.find((x) => x.name === 'mount')!.decision, 0, 'only the effective set counts');
  const other = convertSpec({ process: { args: ['sh'], capabilities: { effective: ['CAP_SYS_ADMIN'] } } }, '/r', 'w');
  t.ok(other.seccomp!.traps!.filter((x) => x.name !== 'mount' && x.name !== 'umount2').every((x) => x.decision === 0), 'every other trap stays a denial');
  t.equal(other.seccomp!.traps!.find((x) => x.name === 'umount2')!.decision, 2, 'umount2 is checked too');
});
