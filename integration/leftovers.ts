// Finds what a private containerd and its shims left behind: processes tied to its base dir,
// mounts under it and task bundle dirs. Tests assert the result is empty; stop() uses it to clean up.
import * as fs from 'fs';
import * as path from 'path';

/** LeakedProcess is one live process tied to a containerd base dir, with why it counts. */
export interface LeakedProcess {
  pid: number;
  comm: string;
  cmdline: string;
  reason: string;
}

/** Leftovers lists everything a containerd base dir still holds that should be gone. */
export interface Leftovers {
  processes: LeakedProcess[];
  mounts: string[];
  bundles: string[];
}

/** SHIM_NAMES are the executable names of our runtime's host processes. */
export const SHIM_NAMES = ['containerd-shim-runsc-ts-v1', 'runsc-ts-sentry'];

/**
 * SPAWNER_COMM is the name (comm) of the sentry's spawner: a fork of the sentry, so its argv is
 * the sentry's (see sentry-native/sentry/spawner.h).
 */
export const SPAWNER_COMM = 'runsc-ts-spawn';

/** programOf names a process by its executable, the sentry's spawner by its own name. */
export function programOf(p: LeakedProcess): string {
  if (p.comm === SPAWNER_COMM) return SPAWNER_COMM;
  return path.basename(p.cmdline.split(' ')[0] ?? '');
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return fallback;
  }
}

function linkOr(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return '';
  }
}

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

// Returns the pids of this process and its ancestors, which never count as leaked.
function ancestors(): Set<number> {
  const out = new Set<number>();
  let pid = process.pid;
  while (pid > 1 && !out.has(pid)) {
    out.add(pid);
    const stat = readOr(`/proc/${pid}/stat`, '');
    const m = /\) \S+ (\d+)/.exec(stat);
    if (!m) break;
    pid = Number(m[1]);
  }
  return out;
}

/**
 * leakedProcesses lists live processes tied to `baseDir`: its path in their argv, cwd, root,
 * mount table (containers) or environment (shims get TTRPC_ADDRESS).
 * `excludePids` (e.g. containerd itself) and this process's ancestors are skipped, and so are
 * warm shims unless `includeWarmShims` (cleanup kills them; leak reports do not count them).
 */
export function leakedProcesses(baseDir: string, excludePids: number[] = [], includeWarmShims = false): LeakedProcess[] {
  const skip = ancestors();
  for (const p of excludePids) skip.add(p);
  const selfMnt = linkOr('/proc/self/ns/mnt');
  // With the trailing slash, /tmp/runsc-ts-it-ab never matches /tmp/runsc-ts-it-abc.
  const tie = baseDir.endsWith('/') ? baseDir : baseDir + '/';
  const out: LeakedProcess[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const pid = Number(ent);
    if (skip.has(pid)) continue;
    const dir = `/proc/${pid}`;
    const rawCmd = readOr(`${dir}/cmdline`, '');
    if (rawCmd === '') continue; // kernel thread or already gone
    const cmdline = rawCmd.replace(/\0+$/, '').split('\0').join(' ');
    // A warm shim (zygote) waits for containerd's next start: it belongs to containerd, not to
    // any container, and ends when containerd goes away.
    if (!includeWarmShims && SHIM_NAMES.some((n) => cmdline.startsWith(n)) && cmdline.endsWith(' zygote')) continue;
    const comm = readOr(`${dir}/comm`, '').trim();
    const reasons: string[] = [];
    if (cmdline.includes(tie)) reasons.push('argv names the base dir');
    const cwd = linkOr(`${dir}/cwd`);
    if (cwd !== '' && under(cwd, baseDir)) reasons.push(`cwd ${cwd}`);
    const root = linkOr(`${dir}/root`);
    if (root !== '' && under(root, baseDir)) reasons.push(`root ${root}`);
    // A process in another mount namespace (a container after pivot_root) shows root "/", but
    // its mount table still names the rootfs or the snapshots under the base dir.
    const mnt = linkOr(`${dir}/ns/mnt`);
    if (reasons.length === 0 && mnt !== '' && mnt !== selfMnt && readOr(`${dir}/mountinfo`, '').includes(tie)) {
      reasons.push('its mount namespace holds mounts from the base dir');
    }
    if (reasons.length === 0 && readOr(`${dir}/environ`, '').includes(tie)) reasons.push('environment names the base dir');
    if (reasons.length === 0) continue;
    const named = SHIM_NAMES.find((n) => cmdline.includes(n) || comm === n);
    if (named) reasons.unshift(named);
    out.push({ pid, comm, cmdline, reason: reasons.join(', ') });
  }
  return out;
}

// Undoes the octal escapes mountinfo uses for space, tab, newline and backslash.
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** mountsUnder lists mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readOr('/proc/self/mountinfo', '').split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 5) continue;
    const mp = unescapeMount(fields[4]);
    if (under(mp, dir)) out.push(mp);
  }
  // Deeper paths first; among equal paths keep the later (upper) mount first.
  return out.map((m, i) => ({ m, i })).sort((a, b) => b.m.length - a.m.length || b.i - a.i).map((x) => x.m);
}

/** bundleDirs lists task bundle and work dirs containerd keeps under `baseDir` for each task. */
export function bundleDirs(baseDir: string): string[] {
  const out: string[] = [];
  for (const top of ['state', 'root']) {
    const base = path.join(baseDir, top, 'io.containerd.runtime.v2.task');
    let namespaces: string[] = [];
    try {
      namespaces = fs.readdirSync(base);
    } catch {
      continue;
    }
    for (const ns of namespaces) {
      let ids: string[] = [];
      try {
        ids = fs.readdirSync(path.join(base, ns));
      } catch {
        continue;
      }
      for (const id of ids) out.push(path.join(base, ns, id));
    }
  }
  return out.sort();
}

/** leftovers collects leaked processes, mounts and bundle dirs of the containerd in `baseDir`. */
export function leftovers(baseDir: string, opts: { excludePids?: number[] } = {}): Leftovers {
  return {
    processes: leakedProcesses(baseDir, opts.excludePids ?? []),
    mounts: mountsUnder(baseDir),
    bundles: bundleDirs(baseDir),
  };
}

/** isClean reports whether nothing was left over. */
export function isClean(l: Leftovers): boolean {
  return l.processes.length === 0 && l.mounts.length === 0 && l.bundles.length === 0;
}

/** describeLeftovers renders leftovers as readable lines for a failing assertion. */
export function describeLeftovers(l: Leftovers): string {
  const lines: string[] = [];
  for (const p of l.processes) lines.push(`process ${p.pid} (${p.comm}: ${p.reason}): ${p.cmdline}`);
  for (const m of l.mounts) lines.push(`mount ${m}`);
  for (const b of l.bundles) lines.push(`bundle ${b}`);
  return lines.length ? lines.join('\n') : 'nothing left over';
}
