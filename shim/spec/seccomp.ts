// Builds a container's seccomp filter: the OCI profile as given, plus the sandbox's trapped set
// ("filter most, trap few"). A trap is only added where the profile would let the call run, so
// the result is never weaker than the profile.
import { invalidArgument } from '../errors';
import type { runsc_ts } from '../gen/protos';
import type { OciSeccomp } from './oci';

type ISeccomp = runsc_ts.sentry.v1.ISeccomp;
type ITrap = runsc_ts.sentry.v1.ITrap;
type ITrapAllow = runsc_ts.sentry.v1.ITrapAllow;

/** ACT holds libseccomp's action values (ERRNO and TRACE carry data in the low 16 bits). */
export const ACT = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

const EPERM = 1;
const EACCES = 13;

const ops: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/**
 * SANDBOX_TRAPS is the trapped set and what the sentry decides for each: denied with the errno
 * Linux gives an unprivileged caller, except where buildSeccomp checks arguments (mknod of
 * devices, personality) or a privileged container's mounts are checked (TrapOptions). A trap is
 * decided on both platforms alike. docs/SYSCALLS.md explains it.
 */
export const SANDBOX_TRAPS: ReadonlyArray<readonly [string, number]> = [
  ['mount', EPERM], ['umount2', EPERM], ['pivot_root', EPERM], ['move_mount', EPERM],
  ['open_tree', EPERM], ['fsopen', EPERM], ['fsconfig', EPERM], ['fsmount', EPERM],
  ['fspick', EPERM], ['mount_setattr', EPERM],
  ['ptrace', EPERM], ['bpf', EPERM], ['perf_event_open', EACCES],
  ['keyctl', EPERM], ['add_key', EPERM], ['request_key', EPERM],
  ['kexec_load', EPERM], ['kexec_file_load', EPERM],
  ['init_module', EPERM], ['finit_module', EPERM], ['delete_module', EPERM],
  ['userfaultfd', EPERM], ['unshare', EPERM], ['setns', EPERM], ['open_by_handle_at', EPERM],
  ['iopl', EPERM], ['ioperm', EPERM], ['reboot', EPERM], ['swapon', EPERM], ['swapoff', EPERM],
  ['settimeofday', EPERM], ['clock_settime', EPERM], ['clock_adjtime', EPERM], ['adjtimex', EPERM],
  ['acct', EPERM], ['quotactl', EPERM], ['lookup_dcookie', EPERM],
  ['mknod', EPERM], ['mknodat', EPERM], ['personality', EPERM],
];

/** NEW_MOUNT_API is the fd-based mount API: no checked form, so libmount's fallback is wanted. */
const NEW_MOUNT_API = new Set(['move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr']);

const ENOSYS = 38;

/** TRAP_DECISION holds the values of control.proto Trap.Decision. */
export const TRAP_DECISION = { DENY: 0, ALLOW: 1, MOUNT_CHECKED: 2 } as const;

/** TrapOptions is what the container's process changes in the sentry's decisions. */
export interface TrapOptions {
  /**
   * mountChecked: the process has CAP_SYS_ADMIN in its effective set (a privileged container),
   * so its mount and umount2 traps are MOUNT_CHECKED: the sentry lets it mount tmpfs, proc,
   * sysfs, devpts, mqueue and binds of its own files (never a block device) and unmount what it
   * mounted so; otherwise EPERM. The new mount API is then ENOSYS instead of EPERM.
   */
  mountChecked?: boolean;
  /**
   * devices: the spec's device cgroup rules (linux.resources.devices), which decide the char
   * devices mknod may create (deviceNodeRules).
   */
  devices?: DeviceRule[];
}

/** DeviceRule is one OCI linux.resources.devices rule. */
export interface DeviceRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

/** CharDevice is a char device mknod may create; minor undefined stands for every minor. */
export interface CharDevice {
  major: number;
  minor?: number;
}

/**
 * SANDBOX_CHAR_DEVICES are the char devices every container may create and use, as the device
 * cgroup of runc lets it (after the spec's rules): null, zero, full, random, urandom, tty,
 * console, ptmx, its ptys, tun; and 0:0, the overlay whiteout.
 */
export const SANDBOX_CHAR_DEVICES: readonly CharDevice[] = [
  { major: 1, minor: 3 }, { major: 1, minor: 5 }, { major: 1, minor: 7 }, { major: 1, minor: 8 },
  { major: 1, minor: 9 }, { major: 5, minor: 0 }, { major: 5, minor: 1 }, { major: 5, minor: 2 },
  { major: 136 }, { major: 10, minor: 200 }, { major: 0, minor: 0 },
];

/**
 * deviceNodeRules turns the spec's device cgroup rules into the char devices a container's mknod
 * may create: those its rules let it read or write (a node it could not use has no purpose),
 * applied in order (a deny removes what it covers; where it covers part of a wildcard, the whole
 * wildcard goes), then SANDBOX_CHAR_DEVICES. A rule for every major (a privileged container's
 * `a *:* rwm`) adds nothing: the sandbox never lets a container create arbitrary host devices.
 * Block devices are never created.
 */
export function deviceNodeRules(rules: DeviceRule[] | undefined): CharDevice[] {
  let out: CharDevice[] = [];
  const wild = (v: number | undefined): boolean => v === undefined || v < 0;
  for (const r of rules ?? []) {
    const type = r.type || 'a';
    if (type !== 'a' && type !== 'c') continue;
    const minor = wild(r.minor) ? undefined : r.minor;
    if (r.allow) {
      if (wild(r.major) || !/[rw]/.test(r.access || 'rwm')) continue;
      out.push({ major: r.major!, minor });
      continue;
    }
    // A deny of any access removes what it covers: every major, a whole major, or one device
    // (and with it a wildcard of its major, which it covers in part).
    const covers = (d: CharDevice): boolean =>
      wild(r.major) || (d.major === r.major && (minor === undefined || d.minor === undefined || d.minor === minor));
    out = out.filter((d) => !covers(d));
  }
  for (const d of SANDBOX_CHAR_DEVICES) {
    if (!out.some((o) => o.major === d.major && (o.minor === undefined || o.minor === d.minor))) out.push(d);
  }
  return out;
}

// File types (mode & S_IFMT) and the kernel's 32-bit dev_t encoding of mknod's dev argument.
const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const MASKED_EQ = 7;
const DEV_MAJOR_MASK = 0xfff00;
function encodeDev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
}

/**
 * mknodAllowed is the argument patterns under which mknod (mode at argument modeArg, dev next)
 * runs: any file type but char and block devices (the kernel decides those: fifos, sockets,
 * regular files; directories are its EINVAL/EPERM), and the char devices of deviceNodeRules.
 */
function mknodAllowed(modeArg: number, devices: CharDevice[]): ITrapAllow[] {
  const type = (t: number) => ({ index: modeArg, value: S_IFMT, valueTwo: t, op: MASKED_EQ });
  const out: ITrapAllow[] = [];
  for (let t = 0; t <= S_IFMT; t += 0o010000) {
    if (t !== S_IFCHR && t !== S_IFBLK) out.push({ args: [type(t)] });
  }
  for (const d of devices) {
    const dev = d.minor === undefined
      ? { index: modeArg + 1, value: DEV_MAJOR_MASK, valueTwo: encodeDev(d.major, 0), op: MASKED_EQ }
      : { index: modeArg + 1, value: 0xffffffff, valueTwo: encodeDev(d.major, d.minor) >>> 0, op: MASKED_EQ };
    out.push({ args: [type(S_IFCHR), dev] });
  }
  return out;
}

/**
 * PERSONALITIES are the personality(2) values that run (as Docker's default profile lets them):
 * PER_LINUX, PER_LINUX32, each with UNAME26, and the query 0xffffffff. Others (READ_IMPLIES_EXEC,
 * MMAP_PAGE_ZERO, ADDR_NO_RANDOMIZE, foreign ABIs) are EPERM.
 */
export const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];
const personalityAllowed: ITrapAllow[] = PERSONALITIES.map((v) => ({
  args: [{ index: 0, value: 0xffffffff, valueTwo: v, op: MASKED_EQ }],
}));

/** hasEffectiveSysAdmin says whether an OCI effective capability list holds CAP_SYS_ADMIN. */
export function hasEffectiveSysAdmin(effective: string[] | undefined): boolean {
  return (effective ?? []).some((c) => {
    const n = c.toUpperCase();
    return n === 'CAP_SYS_ADMIN' || n === 'SYS_ADMIN';
  });
}

/**
 * SANDBOX_DENIALS are decided in the filter itself, without a trip to the sentry, where the
 * profile would let them run: clone3 (its flags sit in memory a filter cannot read, so it could
 * create namespaces unseen; libc falls back to clone on ENOSYS, as under Docker's profile),
 * io_uring (a large kernel surface that bypasses per-syscall mediation; gVisor disables it too),
 * and clone with any namespace flag (the namespaces are the sentry's).
 */
export const CLONE_NAMESPACE_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['CLONE_NEWTIME', 0x80], ['CLONE_NEWNS', 0x20000], ['CLONE_NEWCGROUP', 0x02000000],
  ['CLONE_NEWUTS', 0x04000000], ['CLONE_NEWIPC', 0x08000000], ['CLONE_NEWUSER', 0x10000000],
  ['CLONE_NEWPID', 0x20000000], ['CLONE_NEWNET', 0x40000000],
];
const ENOSYS_CALLS = ['clone3', 'io_uring_setup', 'io_uring_enter', 'io_uring_register'];

const EBUSY = 16;
/**
 * SECCOMP_FILTER_FLAG_NEW_LISTENER (seccomp(2)'s flags, its argument 1): a container loading a
 * filter with a listener of its own would have its notify action take precedence over the
 * sandbox's trace action and could answer "continue" to its own trapped calls. On platform
 * unotify the kernel refuses a second listener (EBUSY); the filter refuses it on every platform
 * with that same errno.
 */
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;

function action(name: string, errnoRet: number | undefined, where: string): number {
  switch (name) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return ACT.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return ACT.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return ACT.TRAP;
    case 'SCMP_ACT_ERRNO':
      return (ACT.ERRNO | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_TRACE':
      // The sentry is the tracer: a profile's own TRACE action becomes ENOSYS, as with no tracer.
      return (ACT.ERRNO | 38) >>> 0;
    case 'SCMP_ACT_LOG':
      return ACT.LOG;
    case 'SCMP_ACT_ALLOW':
      return ACT.ALLOW;
    default:
      throw invalidArgument(`${where}: seccomp: unsupported action "${name}"`);
  }
}

function arch(name: string): string {
  return name.replace(/^SCMP_ARCH_/, '').toLowerCase();
}

/** noNewListener refuses seccomp(2) calls asking for a listener, with EBUSY. */
function noNewListener(): { names: string[]; action: number; args: { index: number; value: number; valueTwo: number; op: number }[] } {
  const flag = SECCOMP_FILTER_FLAG_NEW_LISTENER;
  return { names: ['seccomp'], action: (ACT.ERRNO | EBUSY) >>> 0, args: [{ index: 1, value: flag, valueTwo: flag, op: ops.SCMP_CMP_MASKED_EQ }] };
}

/** StraceSettings is what the strace flags ask of the filter and the sentry. */
export interface StraceSettings {
  strace: boolean;
  straceSyscalls: string[];
  straceLogSize: number;
}

/** NO_STRACE is strace off. */
export const NO_STRACE: StraceSettings = { strace: false, straceSyscalls: [], straceLogSize: 64 };

/** Platform is how the trapped calls reach the sentry (the `platform` flag). */
export type Platform = 'ptrace' | 'unotify';

/** FilterSettings is what the sandbox's flags ask of the filter: strace, and the platform (absent = ptrace). */
export interface FilterSettings extends StraceSettings {
  platform?: Platform;
}

/** PLATFORM holds the values of control.proto Seccomp.Platform. */
export const PLATFORM: Record<Platform, number> = { ptrace: 0, unotify: 1 };

/** decideTrap is the sentry's decision for one trapped call of a container with opts. */
function decideTrap(name: string, errno: number, opts: TrapOptions): ITrap {
  if ((name === 'mount' || name === 'umount2') && opts.mountChecked) {
    return { name, decision: TRAP_DECISION.MOUNT_CHECKED, errno };
  }
  // A privileged container's libmount (util-linux) tries the new API first and falls back to a
  // checked mount(2) on ENOSYS; EPERM would end its attempt.
  if (NEW_MOUNT_API.has(name) && opts.mountChecked) return { name, decision: TRAP_DECISION.DENY, errno: ENOSYS };
  if (name === 'mknod' || name === 'mknodat') {
    const allowIf = mknodAllowed(name === 'mknod' ? 1 : 2, deviceNodeRules(opts.devices));
    return { name, decision: TRAP_DECISION.DENY, errno, allowIf };
  }
  if (name === 'personality') return { name, decision: TRAP_DECISION.DENY, errno, allowIf: personalityAllowed };
  return { name, decision: TRAP_DECISION.DENY, errno };
}

/**
 * buildSeccomp merges the OCI profile (absent = allow all) with the sandbox traps, and carries
 * the strace settings (the sentry turns the calls the result allows into traced ones) and the
 * platform (the sentry makes the traps SCMP_ACT_TRACE or SCMP_ACT_NOTIFY). opts changes some
 * decisions (see TrapOptions).
 */
export function buildSeccomp(
  profile: OciSeccomp | undefined,
  where: string,
  strace: FilterSettings = NO_STRACE,
  opts: TrapOptions = {},
): ISeccomp {
  const defaultAction = profile ? action(profile.defaultAction, profile.defaultErrnoRet, where) : ACT.ALLOW;
  if (profile?.listenerPath) throw invalidArgument(`${where}: seccomp: listenerPath is not supported`);
  const rules = (profile?.syscalls ?? []).map((r) => ({
    names: r.names,
    action: action(r.action, r.errnoRet, where),
    args: (r.args ?? []).map((a) => {
      const op = ops[a.op];
      if (op === undefined) throw invalidArgument(`${where}: seccomp: unknown operator "${a.op}"`);
      return { index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op };
    }),
  }));
  // Where the profile decides a syscall itself (any rule names it), the profile stands; a trap is
  // added only for calls that fall through to an allowing default action.
  const named = new Set(rules.flatMap((r) => r.names));
  // A profile allowing seccomp outright (as containerd's default does) allows it without a
  // listener: the allow gets the complementary condition next to the refusal.
  const seccompAllow = rules.find((r) => r.names.includes('seccomp') && r.args.length === 0 && (r.action === ACT.ALLOW || r.action === ACT.LOG));
  if (seccompAllow) {
    seccompAllow.names = seccompAllow.names.filter((n) => n !== 'seccomp');
    const flag = SECCOMP_FILTER_FLAG_NEW_LISTENER;
    rules.push({ names: ['seccomp'], action: seccompAllow.action, args: [{ index: 1, value: flag, valueTwo: 0, op: ops.SCMP_CMP_MASKED_EQ }] });
    rules.push(noNewListener());
  }
  const defaultAllows = defaultAction === ACT.ALLOW || defaultAction === ACT.LOG;
  const traps: ITrap[] = [];
  for (const [name, errno] of SANDBOX_TRAPS) {
    if (named.has(name)) {
      const rule = rules.find((r) => r.names.includes(name));
      if (!rule || rule.args.length > 0 || (rule.action !== ACT.ALLOW && rule.action !== ACT.LOG)) continue;
      // An unconditional allow in the profile is narrowed to the sentry's decision.
      rule.names = rule.names.filter((n) => n !== name);
    } else if (!defaultAllows) {
      continue;
    }
    traps.push(decideTrap(name, errno, opts));
  }
  const denials = [];
  if (defaultAllows) {
    for (const name of ENOSYS_CALLS) {
      if (!named.has(name)) denials.push({ names: [name], action: (ACT.ERRNO | ENOSYS) >>> 0, args: [] });
    }
    if (!named.has('seccomp')) denials.push(noNewListener());
    if (!named.has('clone')) {
      for (const [, flag] of CLONE_NAMESPACE_FLAGS) {
        denials.push({ names: ['clone'], action: (ACT.ERRNO | EPERM) >>> 0, args: [{ index: 0, value: flag, valueTwo: flag, op: ops.SCMP_CMP_MASKED_EQ }] });
      }
    }
  }
  return {
    defaultAction,
    architectures: (profile?.architectures ?? []).map(arch),
    rules: [...rules.filter((r) => r.names.length > 0), ...denials],
    traps,
    logTraps: false,
    strace: strace.strace,
    straceSyscalls: strace.strace ? [...strace.straceSyscalls] : [],
    straceLogSize: strace.strace ? strace.straceLogSize : 0,
    platform: PLATFORM[strace.platform ?? 'ptrace'],
  };
}
