// Applies an OCI spec's linux.resources to a container's cgroup v1 directories: memory, cpu,
// cpuset, pids and the device allow-list. Used at Create (before the init execs) and by Update.
import * as fs from 'fs';
import * as path from 'path';
import { invalidArgument } from '../errors';
import { cgroupMountPoints, cgroupV1Mounts } from '../cgroupfs';

/** OciResources is linux.resources of the OCI spec (also the JSON of UpdateTaskRequest.resources). */
export interface OciResources {
  devices?: { allow: boolean; type?: string; major?: number; minor?: number; access?: string }[];
  memory?: { limit?: number; reservation?: number; swap?: number; kernel?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number; cpus?: string; mems?: string };
  pids?: { limit?: number };
}

/** CgroupWrite is one value written to one cgroup file, in order. */
export interface CgroupWrite {
  controller: string;
  file: string;
  value: string;
}

function device(d: NonNullable<OciResources['devices']>[number]): string {
  const n = (v: number | undefined): string => (v === undefined || v < 0 ? '*' : String(v));
  return `${d.type && d.type !== '' ? d.type : 'a'} ${n(d.major)}:${n(d.minor)} ${d.access || 'rwm'}`;
}

/**
 * DEFAULT_DEVICES are allowed after the spec's own device rules, as runc does: the nodes every
 * container gets (null, zero, full, random, urandom, tty, console, ptmx, its ptys, tun) and
 * mknod of any device (using one still needs a rule).
 */
export const DEFAULT_DEVICES = [
  'c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm',
  'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm', 'c 10:200 rwm',
];

/** resourceWrites turns resources into the cgroup v1 writes that apply them (policy, no I/O). */
export function resourceWrites(r: OciResources): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const w = (controller: string, file: string, value: number | string | undefined): void => {
    if (value !== undefined && value !== null) out.push({ controller, file, value: String(value) });
  };
  const m = r.memory;
  if (m) {
    w('memory', 'memory.limit_in_bytes', m.limit);
    w('memory', 'memory.soft_limit_in_bytes', m.reservation);
    w('memory', 'memory.memsw.limit_in_bytes', m.swap);
    w('memory', 'memory.swappiness', m.swappiness);
    if (m.disableOOMKiller) w('memory', 'memory.oom_control', 1);
  }
  const c = r.cpu;
  if (c) {
    w('cpu', 'cpu.shares', c.shares || undefined);
    w('cpu', 'cpu.cfs_period_us', c.period || undefined);
    w('cpu', 'cpu.cfs_quota_us', c.quota || undefined);
    w('cpu', 'cpu.rt_period_us', c.realtimePeriod || undefined);
    w('cpu', 'cpu.rt_runtime_us', c.realtimeRuntime || undefined);
    w('cpuset', 'cpuset.cpus', c.cpus || undefined);
    w('cpuset', 'cpuset.mems', c.mems || undefined);
  }
  if (r.pids?.limit !== undefined) w('pids', 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max');
  for (const d of r.devices ?? []) w('devices', d.allow ? 'devices.allow' : 'devices.deny', device(d));
  if ((r.devices ?? []).length > 0) for (const d of DEFAULT_DEVICES) w('devices', 'devices.allow', d);
  return out;
}

/** applyResources writes resources into the container's cgroup; a refused write names the file and value. */
export function applyResources(cgroupPath: string, r: OciResources | undefined, where: string, mounts = cgroupV1Mounts()): void {
  if (!r || !cgroupPath) return;
  for (const { controller, file, value } of resourceWrites(r)) {
    const root = mounts.get(controller);
    if (!root) continue; // controller not mounted on this host: nothing to enforce it with
    const target = path.join(root, cgroupPath, file);
    if (file === 'memory.memsw.limit_in_bytes' && !fs.existsSync(target)) continue; // swap accounting off
    try {
      fs.writeFileSync(target, value);
    } catch (err) {
      throw invalidArgument(`${where}: setting cgroup ${path.join(cgroupPath, file)} to ${value}: ${(err as Error).message}`);
    }
  }
}

/**
 * removeCgroup removes the container's cgroup directory from every hierarchy once its processes
 * are gone (the kernel refuses with EBUSY while any is left, so it retries for a moment).
 */
export async function removeCgroup(cgroupPath: string): Promise<string[]> {
  const failed: string[] = [];
  if (!cgroupPath || cgroupPath === '/') return failed;
  for (const root of cgroupMountPoints()) {
    const dir = path.join(root, cgroupPath);
    for (let attempt = 0; ; attempt++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt >= 20) {
          failed.push(`${dir}: ${(err as Error).message}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  return failed;
}
