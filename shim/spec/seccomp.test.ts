// Tests of the seccomp merge: the OCI profile stays as strong as it is; traps only where it allows.
import t from 'tap';
import type { runsc_ts } from '../gen/protos';
import {
  ACT, buildSeccomp, CLONE_NAMESPACE_FLAGS, deviceNodeRules, hasEffectiveSysAdmin, NO_STRACE, PERSONALITIES, PLATFORM, SANDBOX_CHAR_DEVICES,
  SANDBOX_TRAPS, SECCOMP_FILTER_FLAG_NEW_LISTENER, TRAP_DECISION,
} from './seccomp';

t.test('no profile: allow by default, every sandbox trap added', async (t) => {
  const s = buildSeccomp(undefined, 'w');
  t.equal(s.defaultAction, ACT.ALLOW);
  t.equal(s.traps!.length, SANDBOX_TRAPS.length);
  t.ok(s.traps!.find((x) => x.name === 'mount' && x.errno === 1));
  t.ok(s.traps!.find((x) => x.name === 'perf_event_open' && x.errno === 13));
});

t.test('a deny-by-default profile keeps its denials; traps only for what it allows', async (t) => {
  const s = buildSeccomp(
    {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [
        { names: ['read', 'write', 'mount', 'ptrace'], action: 'SCMP_ACT_ALLOW' },
        { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['bpf'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      ],
    },
    'w',
  );
  t.equal(s.defaultAction, (ACT.ERRNO | 1) >>> 0);
  t.same(s.architectures, ['x86_64', 'x86']);
  t.same(s.traps!.map((x) => x.name).sort(), ['mount', 'ptrace'], 'allowed dangerous calls are trapped');
  t.same(s.rules![0].names, ['read', 'write'], 'and removed from the allow rule');
  t.equal(s.rules![1].args![0].op, 7);
  t.equal(s.rules![2].action, (ACT.ERRNO | 38) >>> 0, 'a profile denial stays');
  t.notOk(s.traps!.find((x) => x.name === 'bpf'));
  t.notOk(s.traps!.find((x) => x.name === 'unshare'), 'a call the default denies is not trapped');
});

t.test('bad profiles are refused with the reason', async (t) => {
  t.throws(() => buildSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY' }, 'creating container z'), /creating container z: seccomp: unsupported action "SCMP_ACT_NOTIFY"/);
  t.throws(() => buildSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_WAT' }] }] }, 'w'), /unknown operator/);
});

t.test('without a profile: clone3 and io_uring give ENOSYS, clone with a namespace flag EPERM', async (t) => {
  const s = buildSeccomp(undefined, 'w');
  const enosys = s.rules!.filter((r) => r.action === ((ACT.ERRNO | 38) >>> 0)).flatMap((r) => r.names);
  t.same(enosys.sort(), ['clone3', 'io_uring_enter', 'io_uring_register', 'io_uring_setup']);
  const clone = s.rules!.filter((r) => r.names!.includes('clone'));
  t.equal(clone.length, CLONE_NAMESPACE_FLAGS.length, 'one masked rule per namespace flag');
  t.ok(clone.every((r) => r.action === ((ACT.ERRNO | 1) >>> 0) && r.args![0].op === 7 && r.args![0].value === r.args![0].valueTwo));
  t.ok(clone.find((r) => r.args![0].value === 0x10000000), 'CLONE_NEWUSER is among them');
});

t.test('a profile that decides clone, clone3 or io_uring itself keeps its decision', async (t) => {
  const s = buildSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['clone', 'clone3'], action: 'SCMP_ACT_ALLOW' }] }, 'w');
  t.notOk(s.rules!.find((r) => r.names!.includes('clone') && r.args!.length > 0), 'no clone flag rules added');
  t.notOk(s.rules!.find((r) => r.names!.includes('clone3') && r.action !== ACT.ALLOW));
  const deny = buildSeccomp({ defaultAction: 'SCMP_ACT_ERRNO' }, 'w');
  t.notOk(deny.rules!.find((r) => r.names!.includes('clone3')), 'a denying default already covers them');
});

t.test('strace settings are carried to the sentry, profile untouched', async (t) => {
  const off = buildSeccomp(undefined, 'w');
  t.equal(off.strace, false);
  t.same(off.straceSyscalls, []);
  t.equal(off.straceLogSize, 0);
  const profile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'openat'], action: 'SCMP_ACT_ALLOW' }] };
  const on = buildSeccomp(profile, 'w', { strace: true, straceSyscalls: ['openat'], straceLogSize: 32 });
  t.equal(on.strace, true);
  t.same(on.straceSyscalls, ['openat']);
  t.equal(on.straceLogSize, 32);
  const plain = buildSeccomp(profile, 'w');
  t.same(on.rules, plain.rules, 'the rules are the same: the sentry decides what is traced');
  t.same(on.traps, plain.traps);
  t.equal(on.defaultAction, plain.defaultAction);
  const all = buildSeccomp(undefined, 'w', { strace: true, straceSyscalls: [], straceLogSize: 64 });
  t.same([all.strace, all.straceSyscalls, all.straceLogSize], [true, [], 64]);
});

t.test('the platform is carried to the sentry; the traps are the same on both', async (t) => {
  t.same(PLATFORM, { ptrace: 0, unotify: 1 }, 'control.proto Seccomp.Platform values');
  const plain = buildSeccomp(undefined, 'w');
  t.equal(plain.platform, PLATFORM.ptrace, 'absent = ptrace');
  t.equal(buildSeccomp(undefined, 'w', { ...NO_STRACE, platform: 'ptrace' }).platform, PLATFORM.ptrace);
  const unotify = buildSeccomp(undefined, 'w', { ...NO_STRACE, platform: 'unotify' });
  t.equal(unotify.platform, PLATFORM.unotify);
  t.same(unotify.traps, plain.traps, 'the same trapped set and decisions');
  t.same(unotify.rules, plain.rules);
});

t.test('seccomp(2) with a listener of the container\'s own is refused (EBUSY) on every platform', async (t) => {
  const isRefusal = (r: { names?: string[] | null; action?: number | null; args?: { index?: number | null; value?: unknown; valueTwo?: unknown; op?: number | null }[] | null }): boolean =>
    !!r.names?.includes('seccomp') && r.action === ((ACT.ERRNO | 16) >>> 0) && r.args?.length === 1 &&
    r.args[0].index === 1 && r.args[0].op === 7 && Number(r.args[0].value) === SECCOMP_FILTER_FLAG_NEW_LISTENER && Number(r.args[0].valueTwo) === SECCOMP_FILTER_FLAG_NEW_LISTENER;
  const none = buildSeccomp(undefined, 'w');
  t.equal(none.rules!.filter(isRefusal).length, 1, 'without a profile');
  // containerd's default profile allows seccomp outright: that allow loses the listener case.
  const allowing = buildSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'seccomp'], action: 'SCMP_ACT_ALLOW' }] }, 'w');
  t.equal(allowing.rules!.filter(isRefusal).length, 1, 'with a profile allowing seccomp');
  const allows = allowing.rules!.filter((r) => r.names!.includes('seccomp') && r.action === ACT.ALLOW);
  t.equal(allows.length, 1, 'one allow is left for seccomp');
  t.same(allows[0].args, [{ index: 1, value: SECCOMP_FILTER_FLAG_NEW_LISTENER, valueTwo: 0, op: 7 }], 'and only without the listener flag');
  t.ok(allowing.rules!.find((r) => r.names!.includes('read') && r.action === ACT.ALLOW && r.args!.length === 0), 'the rest of the rule stands');
  // A profile that restricts seccomp itself keeps its decision.
  const own = buildSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['seccomp'], action: 'SCMP_ACT_ERRNO' }] }, 'w');
  t.notOk(own.rules!.find(isRefusal), 'a profile denying seccomp stands as it is');
});

t.test('mountChecked makes the mount and umount2 traps MOUNT_CHECKED and the new mount API ENOSYS', async (t) => {
  const plain = buildSeccomp(undefined, 'w');
  t.ok(plain.traps!.every((x) => x.decision === TRAP_DECISION.DENY), 'every trap a denial by default');
  t.ok(plain.traps!.filter((x) => ['fsopen', 'open_tree', 'move_mount'].includes(x.name!)).every((x) => x.errno === 1), 'the new mount API EPERM');
  const checked = buildSeccomp(undefined, 'w', NO_STRACE, { mountChecked: true });
  t.same(checked.traps!.find((x) => x.name === 'mount'), { name: 'mount', decision: TRAP_DECISION.MOUNT_CHECKED, errno: 1 });
  t.same(checked.traps!.find((x) => x.name === 'umount2'), { name: 'umount2', decision: TRAP_DECISION.MOUNT_CHECKED, errno: 1 });
  t.ok(checked.traps!.filter((x) => x.name !== 'mount' && x.name !== 'umount2').every((x) => x.decision === TRAP_DECISION.DENY), 'pivot_root, fsopen, ... stay denied');
  const api = checked.traps!.filter((x) => ['move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr'].includes(x.name!));
  t.equal(api.length, 7);
  t.ok(api.every((x) => x.errno === 38), 'the new mount API is ENOSYS, so libmount falls back to a checked mount(2)');
  t.equal(checked.traps!.find((x) => x.name === 'pivot_root')!.errno, 1, 'pivot_root stays EPERM');
  const profileDenies = buildSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }, 'w', NO_STRACE, { mountChecked: true });
  t.notOk(profileDenies.traps!.find((x) => x.name === 'mount'), 'a profile that denies mount keeps denying it');
});

// matches evaluates a trap's allow_if as the sentry does (MASKED_EQ only) on register arguments.
function allows(trap: runsc_ts.sentry.v1.ITrap, args: number[]): boolean {
  return (trap.allowIf ?? []).some((p) =>
    (p.args ?? []).every((a) => Number(BigInt(args[a.index ?? 0] ?? 0) & BigInt(a.value ?? 0)) === (a.valueTwo ?? 0)));
}
// dev is the kernel's 32-bit encoding of a device number, as mknod takes it.
const dev = (major: number, minor: number): number => ((major << 8) | (minor & 0xff) | ((minor & ~0xff) << 12)) >>> 0;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

t.test('mknod and mknodat: any node but devices, and only the char devices a container may use', async (t) => {
  const s = buildSeccomp(undefined, 'w');
  const mknod = s.traps!.find((x) => x.name === 'mknod')!;
  const mknodat = s.traps!.find((x) => x.name === 'mknodat')!;
  t.equal(mknod.decision, TRAP_DECISION.DENY);
  t.equal(mknod.errno, 1, 'EPERM, as Linux answers a caller without CAP_MKNOD');
  for (const [mode, what] of [[0o010600, 'fifo'], [0o100644, 'regular file'], [0o140755, 'socket'], [0o644, 'type 0 (regular)']] as const) {
    t.ok(allows(mknod, [0, mode, 0]), `mknod of a ${what} runs`);
    t.ok(allows(mknodat, [0, 0, mode, 0]), `mknodat of a ${what} runs`);
  }
  t.ok(allows(mknod, [0, S_IFCHR | 0o666, dev(1, 3)]), '/dev/null (1:3) may be made');
  t.ok(allows(mknodat, [0, 0, S_IFCHR | 0o620, dev(136, 300)]), 'a pty (136:*) with a large minor');
  t.ok(allows(mknodat, [0, 0, S_IFCHR, dev(0, 0)]), 'the overlay whiteout (0:0)');
  t.notOk(allows(mknodat, [0, 0, S_IFCHR | 0o600, dev(1, 1)]), '/dev/mem (1:1) may not');
  t.notOk(allows(mknodat, [0, 0, S_IFBLK | 0o600, dev(8, 0)]), 'no block device');
  t.notOk(allows(mknod, [0, S_IFBLK | 0o600, dev(1, 3)]), 'not even with an allowed number');
  t.notOk(allows(mknodat, [0, S_IFCHR | 0o666, S_IFBLK, dev(1, 3)]), 'mknodat reads the mode at index 2, not 1');
});

t.test('deviceNodeRules: the rules that read or write, in order, then the sandbox devices', async (t) => {
  t.same(deviceNodeRules(undefined), SANDBOX_CHAR_DEVICES, 'no rules: the sandbox devices');
  const fuse = deviceNodeRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' }]);
  t.same(fuse[0], { major: 10, minor: 229 }, 'an allowed device is added');
  t.notOk(deviceNodeRules([{ allow: true, type: 'c', major: 10, minor: 229, access: 'm' }]).some((d) => d.minor === 229), 'mknod alone (m) adds nothing');
  t.notOk(deviceNodeRules([{ allow: true, type: 'b', major: 8, minor: 0, access: 'rw' }]).some((d) => d.major === 8), 'block rules add nothing');
  t.same(deviceNodeRules([{ allow: true, access: 'rwm' }]), SANDBOX_CHAR_DEVICES, 'allow-all (privileged) adds nothing');
  const denied = deviceNodeRules([{ allow: true, type: 'c', major: 4, access: 'rw' }, { allow: false, type: 'c', major: 4, minor: 1, access: 'w' }]);
  t.notOk(denied.some((d) => d.major === 4), 'a deny of one device removes the wildcard it falls in');
  const undone = deviceNodeRules([{ allow: true, type: 'c', major: 4, minor: 2, access: 'rw' }, { allow: false, access: 'rwm' }]);
  t.notOk(undone.some((d) => d.major === 4), 'a later deny-all removes earlier allows');
  t.ok(undone.some((d) => d.major === 1 && d.minor === 3), 'the sandbox devices come after the rules, as in the cgroup');
  const s = buildSeccomp(undefined, 'w', NO_STRACE, { devices: [{ allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }] });
  t.ok(allows(s.traps!.find((x) => x.name === 'mknodat')!, [0, 0, S_IFCHR | 0o666, dev(10, 229)]), 'reaches the mknodat patterns');
});

t.test('personality: only the common personas run', async (t) => {
  const p = buildSeccomp(undefined, 'w').traps!.find((x) => x.name === 'personality')!;
  for (const v of PERSONALITIES) t.ok(allows(p, [v]), `0x${v.toString(16)} runs`);
  t.ok(allows(p, [0x1_0000_0008]), 'the upper half of the register is not the argument');
  for (const v of [0x0100000, 0x0400000, 0x0040000, 0x1]) t.notOk(allows(p, [v]), `0x${v.toString(16)} is EPERM`);
  t.equal(p.errno, 1);
});

t.test('hasEffectiveSysAdmin reads OCI capability names', async (t) => {
  t.ok(hasEffectiveSysAdmin(['CAP_SYS_ADMIN']));
  t.ok(hasEffectiveSysAdmin(['cap_sys_admin']));
  t.ok(hasEffectiveSysAdmin(['SYS_ADMIN']));
  t.notOk(hasEffectiveSysAdmin(['CAP_SYS_ADMINX', 'CAP_NET_ADMIN']));
  t.notOk(hasEffectiveSysAdmin(undefined));
});
