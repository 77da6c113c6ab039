// Turns an OCI spec into the plain values the sentry applies (policy in TypeScript, mechanism in
// C++): mount options into MS_* flags, capability names into bit masks, rlimit names into numbers.
import * as path from 'path';
import { cgroupMountPoints } from '../cgroupfs';
import { invalidArgument } from '../errors';
import type { runsc_ts } from '../gen/protos';
import type { OciMount, OciProcess, OciSpec } from './oci';
import { buildSeccomp, hasEffectiveSysAdmin, NO_STRACE, type DeviceRule, type FilterSettings } from './seccomp';

type IProcess = runsc_ts.sentry.v1.IProcess;
type IContainerSpec = runsc_ts.sentry.v1.IContainerSpec;
type IMount = runsc_ts.sentry.v1.IMount;
type IStdio = runsc_ts.sentry.v1.IStdio;

/** MS holds the mount(2) flag values used here. */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

// Option name → [flags to set, flags to clear].
const flagOptions: Record<string, [number, number]> = {
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  nosuid: [MS.NOSUID, 0],
  suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0],
  dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0],
  exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0],
  async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  remount: [MS.REMOUNT, 0],
  mand: [MS.MANDLOCK, 0],
  nomand: [0, MS.MANDLOCK],
  atime: [0, MS.NOATIME],
  noatime: [MS.NOATIME, 0],
  diratime: [0, MS.NODIRATIME],
  nodiratime: [MS.NODIRATIME, 0],
  bind: [MS.BIND, 0],
  rbind: [MS.BIND | MS.REC, 0],
  relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0],
  nostrictatime: [0, MS.STRICTATIME],
  lazytime: [MS.LAZYTIME, 0],
  nolazytime: [0, MS.LAZYTIME],
  nosymfollow: [MS.NOSYMFOLLOW, 0],
  silent: [MS.SILENT, 0],
  loud: [0, MS.SILENT],
};

const propagationOptions: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** MountOptions is a mount's option list split into flags, propagation and fs data. */
export interface MountOptions {
  flags: number;
  propagation: number;
  data: string;
}

/** parseMountOptions splits options like ["rbind", "ro", "mode=755"] the way mount(8) does. */
export function parseMountOptions(options: string[] = []): MountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const opt of options) {
    const f = flagOptions[opt];
    if (f) {
      flags = (flags | f[0]) & ~f[1];
    } else if (propagationOptions[opt] !== undefined) {
      propagation = propagationOptions[opt];
    } else if (opt === 'defaults') {
      // mount(8)'s "defaults" is rw,suid,dev,exec,auto,nouser,async: nothing to set.
    } else {
      data.push(opt);
    }
  }
  return { flags: flags >>> 0, propagation, data: data.join(',') };
}

/** CAPABILITIES lists Linux capability names by number. */
export const CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** capMask turns capability names into a bit mask; unknown names are an error, as in runc. */
export function capMask(names: string[] | undefined, where: string): number {
  let mask = 0n;
  for (const name of names ?? []) {
    const n = CAPABILITIES.indexOf(name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`);
    if (n < 0) throw invalidArgument(`${where}: unknown capability "${name}"`);
    mask |= 1n << BigInt(n);
  }
  return Number(mask);
}

const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

/** convertProcess validates an OCI process and turns it into the sentry's Process. */
export function convertProcess(p: OciProcess | undefined, stdio: IStdio, where: string): IProcess {
  if (!p) throw invalidArgument(`${where}: process is missing from the spec`);
  if (!p.args || p.args.length === 0) throw invalidArgument(`${where}: args must not be empty`);
  const cwd = p.cwd || '/';
  if (!path.isAbsolute(cwd)) throw invalidArgument(`${where}: cwd "${cwd}" must be an absolute path`);
  const rlimits = (p.rlimits ?? []).map((r) => {
    const resource = RLIMITS[r.type];
    if (resource === undefined) throw invalidArgument(`${where}: unknown rlimit "${r.type}"`);
    return { resource, soft: r.soft, hard: r.hard };
  });
  const caps = p.capabilities;
  return {
    args: p.args,
    env: p.env ?? [],
    cwd,
    uid: p.user?.uid ?? 0,
    gid: p.user?.gid ?? 0,
    additionalGids: p.user?.additionalGids ?? [],
    capabilities: caps
      ? {
          bounding: capMask(caps.bounding, where),
          effective: capMask(caps.effective, where),
          inheritable: capMask(caps.inheritable, where),
          permitted: capMask(caps.permitted, where),
          ambient: capMask(caps.ambient, where),
        }
      : null,
    rlimits,
    noNewPrivileges: !!p.noNewPrivileges,
    hasOomScoreAdj: p.oomScoreAdj !== undefined,
    oomScoreAdj: p.oomScoreAdj ?? 0,
    hasUmask: p.user?.umask !== undefined,
    umask: p.user?.umask ?? 0,
    stdio: {
      ...stdio,
      terminal: !!p.terminal,
      width: p.consoleSize?.width ?? 0,
      height: p.consoleSize?.height ?? 0,
    },
  };
}

/**
 * cgroupMounts turns an OCI mount of type "cgroup" (cgroup v1) into what runc makes of it: a
 * tmpfs at the destination holding a bind of the container's OWN cgroup directory from each
 * hierarchy (never the host's root), read-only if asked. hierarchies are the host's cgroup
 * mount points (e.g. /sys/fs/cgroup/memory); without a cgroup path the tmpfs stays empty.
 */
export function cgroupMounts(m: OciMount, cgroup: string, hierarchies: string[]): IMount[] {
  const o = parseMountOptions(m.options);
  const dest = path.resolve('/', m.destination);
  const readonly = (o.flags & MS.RDONLY) !== 0;
  const base = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const out: IMount[] = [{ destination: dest, type: 'tmpfs', source: 'tmpfs', flags: base, data: 'mode=755', propagation: 0 }];
  if (cgroup) {
    for (const h of hierarchies) {
      out.push({
        destination: path.join(dest, path.basename(h)),
        type: 'bind',
        source: path.join(h, cgroup),
        flags: MS.BIND | base | (readonly ? MS.RDONLY : 0),
        data: '',
        propagation: 0,
      });
    }
  }
  if (readonly) out.push({ destination: dest, type: 'tmpfs', source: 'tmpfs', flags: MS.REMOUNT | MS.RDONLY | base, data: 'mode=755', propagation: 0 });
  return out;
}

/**
 * SANDBOX_MASKED_PATHS and SANDBOX_READONLY_PATHS are masked or made read-only in every
 * container whatever its spec says (they are containerd's defaults for an unprivileged one; a
 * privileged one's spec lists none): through them the host's kernel itself is reached (sysctls,
 * sysrq, kernel memory, keys, timers, firmware). A sysfs mount is always read-only for the same
 * reason. The sentry applies them to a proc a privileged container mounts itself, too.
 */
export const SANDBOX_MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const SANDBOX_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

function convertMount(m: OciMount, where: string): IMount {
  if (!m.destination || !path.isAbsolute(m.destination)) {
    throw invalidArgument(`${where}: mount destination "${m.destination}" must be an absolute path`);
  }
  const o = parseMountOptions(m.options);
  const isBind = m.type === 'bind' || (o.flags & MS.BIND) !== 0;
  const floor = m.type === 'sysfs' ? MS.RDONLY : 0;
  return {
    destination: path.resolve('/', m.destination),
    type: isBind ? 'bind' : m.type ?? '',
    source: m.source ?? '',
    flags: (isBind ? o.flags | MS.BIND : o.flags) | floor,
    data: o.data,
    propagation: o.propagation,
  };
}

/**
 * cgroupPath is the container's cgroup (cgroupfs form, relative to each hierarchy's root) from
 * linux.cgroupsPath; a relative path is taken from the root, like runc; "" when none is set.
 */
/** deviceRules reads linux.resources.devices (unknown shape in OciSpec): the well-formed rules. */
function deviceRules(resources: unknown): DeviceRule[] {
  const list = (resources as { devices?: unknown } | undefined)?.devices;
  if (!Array.isArray(list)) return [];
  return list.filter((d): d is DeviceRule => typeof d === 'object' && d !== null && typeof (d as DeviceRule).allow === 'boolean');
}

export function cgroupPath(spec: OciSpec): string {
  const p = spec.linux?.cgroupsPath ?? '';
  if (p === '') return '';
  if (/^[^/]*:[^/]*:/.test(p)) throw invalidArgument(`cgroupsPath "${p}": the systemd cgroup driver is not supported, use cgroupfs`);
  return path.posix.resolve('/', p);
}

// cgroupHierarchies is what a "cgroup" mount shows: the v1 hierarchies, or the v2 tree alone.
function cgroupHierarchies(): string[] {
  const all = cgroupMountPoints();
  return all.length > 1 ? all.filter((h) => h !== '/sys/fs/cgroup') : all;
}

const deviceTypes: Record<string, number> = { c: 99, u: 99, b: 98, p: 112 };

/**
 * convertSpec turns a container's OCI spec (rootfs already prepared at rootfs) into a
 * ContainerSpec. network is the sandbox's network flag: "sandbox" keeps the spec's network
 * namespace, "none" gives a new empty one whatever the spec says, "host" drops it. strace is the
 * sandbox's strace and platform flags, for the seccomp filter.
 */
export function convertSpec(
  spec: OciSpec,
  rootfs: string,
  where: string,
  network: 'sandbox' | 'none' | 'host' = 'sandbox',
  strace: FilterSettings = NO_STRACE,
): IContainerSpec {
  const linux = spec.linux ?? {};
  if ((linux.namespaces ?? []).some((n) => n.type === 'user') || (linux.uidMappings ?? []).length > 0) {
    throw invalidArgument(`${where}: user namespaces are not supported yet`);
  }
  const propagation = linux.rootfsPropagation
    ? propagationOptions[linux.rootfsPropagation]
    : MS.SLAVE | MS.REC;
  if (propagation === undefined) {
    throw invalidArgument(`${where}: unknown rootfsPropagation "${linux.rootfsPropagation}"`);
  }
  return {
    rootfs,
    rootfsReadonly: !!spec.root?.readonly,
    hostname: spec.hostname ?? '',
    mounts: (spec.mounts ?? []).flatMap((m) =>
      m.type === 'cgroup' ? cgroupMounts(m, cgroupPath(spec), cgroupHierarchies()) : [convertMount(m, where)],
    ),
    maskedPaths: [...new Set([...(linux.maskedPaths ?? []), ...SANDBOX_MASKED_PATHS])],
    readonlyPaths: [...new Set([...(linux.readonlyPaths ?? []), ...SANDBOX_READONLY_PATHS])],
    // No block device ever reaches a sandbox (nor does mknod or a mount make one): a privileged
    // spec lists every host device, and the host's disks are not the container's.
    devices: (linux.devices ?? []).flatMap((d) => {
      const type = deviceTypes[d.type];
      if (type === undefined) throw invalidArgument(`${where}: device ${d.path}: unknown type "${d.type}"`);
      if (d.type === 'b') return [];
      return {
        path: d.path,
        type,
        major: d.major ?? 0,
        minor: d.minor ?? 0,
        fileMode: d.fileMode ?? 0o666,
        uid: d.uid ?? 0,
        gid: d.gid ?? 0,
      };
    }),
    namespaces: (linux.namespaces ?? [])
      .filter((n) => n.type !== 'network' || network !== 'host')
      .map((n) => ({ type: n.type, path: n.type === 'network' && network === 'none' ? '' : n.path ?? '' })),
    rootfsPropagation: propagation,
    sysctl: linux.sysctl ?? {},
    // A privileged container (CAP_SYS_ADMIN effective) gets checked mounts instead of EPERM;
    // the device cgroup's rules decide which char devices mknod may create.
    seccomp: buildSeccomp(linux.seccomp, where, strace, {
      mountChecked: hasEffectiveSysAdmin(spec.process?.capabilities?.effective),
      devices: deviceRules(linux.resources),
    }),
    cgroupPath: cgroupPath(spec),
  };
}
