// Tests of the seccomp merge: the OCI profile stays as strong as it is; traps only where it allows.
import t from 'tap';
import {
  ACT, buildSeccomp, CLONE_NAMESPACE_FLAGS, hasEffectiveSysAdmin, NO_STRACE, PLATFORM, SANDBOX_TRAPS, SECCOMP_FILTER_FLAG_NEW_LISTENER, TRAP_DECISION,
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

t.test('mountChecked makes only the mount trap MOUNT_CHECKED (still EPERM where not emulated)', async (t) => {
  const plain = buildSeccomp(undefined, 'w');
  t.ok(plain.traps!.every((x) => x.decision === TRAP_DECISION.DENY), 'every trap a denial by default');
  const checked = buildSeccomp(undefined, 'w', NO_STRACE, { mountChecked: true });
  t.same(checked.traps!.find((x) => x.name === 'mount'), { name: 'mount', decision: TRAP_DECISION.MOUNT_CHECKED, errno: 1 });
  t.ok(checked.traps!.filter((x) => x.name !== 'mount').every((x) => x.decision === TRAP_DECISION.DENY), 'umount2, fsopen, ... stay denied');
  const profileDenies = buildSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }, 'w', NO_STRACE, { mountChecked: true });
  t.notOk(profileDenies.traps!.find((x) => x.name === 'mount'), 'a profile that denies mount keeps denying it');
});

t.test('hasEffectiveSysAdmin reads OCI capability names', async (t) => {
  t.ok(hasEffectiveSysAdmin(['CAP_SYS_ADMIN']));
  t.ok(hasEffectiveSysAdmin(['cap_sys_admin']));
  t.ok(hasEffectiveSysAdmin(['SYS_ADMIN']));
  t.notOk(hasEffectiveSysAdmin(['CAP_SYS_ADMINX', 'CAP_NET_ADMIN']));
  t.notOk(hasEffectiveSysAdmin(undefined));
});
