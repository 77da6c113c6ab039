// Reads a container's cgroup v1 usage (cpuacct, cpu, memory, pids) into containerd's
// io.containerd.cgroups.v1.Metrics, what CRI's ContainerStats and `ctr task metrics` show.
import * as fs from 'fs';
import * as path from 'path';
import { io } from '../gen/protos';
import { cgroupV1Mounts } from '../cgroupfs';
import { unimplemented } from '../errors';

type IMetrics = io.containerd.cgroups.v1.IMetrics;

function readNum(file: string): number | undefined {
  try {
    const v = fs.readFileSync(file, 'utf8').trim();
    if (v === 'max') return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function readKeyed(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k && v !== undefined) out[k] = Number(v);
    }
  } catch {
    // controller not mounted, or the cgroup is gone
  }
  return out;
}

const USER_HZ_NS = 1e7; // cpuacct.stat counts USER_HZ (100 Hz) ticks

/** readMetrics collects the metrics of the cgroup at cgroupPath (relative to each hierarchy's root). */
export function readMetrics(cgroupPath: string, mounts = cgroupV1Mounts()): IMetrics {
  if (mounts.size === 0) throw unimplemented('stats: no cgroup v1 hierarchy is mounted (cgroup v2 is not supported yet)');
  const dir = (controller: string): string | undefined => {
    const m = mounts.get(controller);
    return m ? path.join(m, cgroupPath) : undefined;
  };
  const metrics: IMetrics = {};
  const cpuacct = dir('cpuacct');
  const cpu = dir('cpu');
  if (cpuacct && fs.existsSync(cpuacct)) {
    const stat = readKeyed(path.join(cpuacct, 'cpuacct.stat'));
    let perCpu: number[] = [];
    try {
      perCpu = fs.readFileSync(path.join(cpuacct, 'cpuacct.usage_percpu'), 'utf8').trim().split(/\s+/).map(Number);
    } catch {
      // older kernels
    }
    const throttle = cpu ? readKeyed(path.join(cpu, 'cpu.stat')) : {};
    metrics.cpu = {
      usage: {
        total: readNum(path.join(cpuacct, 'cpuacct.usage')) ?? 0,
        kernel: (stat.system ?? 0) * USER_HZ_NS,
        user: (stat.user ?? 0) * USER_HZ_NS,
        perCpu,
      },
      throttling: { periods: throttle.nr_periods ?? 0, throttledPeriods: throttle.nr_throttled ?? 0, throttledTime: throttle.throttled_time ?? 0 },
    };
  }
  const mem = dir('memory');
  if (mem && fs.existsSync(mem)) {
    const s = readKeyed(path.join(mem, 'memory.stat'));
    const entry = (prefix: string): io.containerd.cgroups.v1.IMemoryEntry => ({
      limit: readNum(path.join(mem, `${prefix}.limit_in_bytes`)) ?? 0,
      usage: readNum(path.join(mem, `${prefix}.usage_in_bytes`)) ?? 0,
      max: readNum(path.join(mem, `${prefix}.max_usage_in_bytes`)) ?? 0,
      failcnt: readNum(path.join(mem, `${prefix}.failcnt`)) ?? 0,
    });
    const oom = readKeyed(path.join(mem, 'memory.oom_control'));
    metrics.memory = {
      cache: s.cache, rss: s.rss, rssHuge: s.rss_huge, mappedFile: s.mapped_file, dirty: s.dirty,
      writeback: s.writeback, pgPgIn: s.pgpgin, pgPgOut: s.pgpgout, pgFault: s.pgfault,
      pgMajFault: s.pgmajfault, inactiveAnon: s.inactive_anon, activeAnon: s.active_anon,
      inactiveFile: s.inactive_file, activeFile: s.active_file, unevictable: s.unevictable,
      hierarchicalMemoryLimit: s.hierarchical_memory_limit, hierarchicalSwapLimit: s.hierarchical_memsw_limit,
      totalCache: s.total_cache, totalRss: s.total_rss, totalRssHuge: s.total_rss_huge,
      totalMappedFile: s.total_mapped_file, totalDirty: s.total_dirty, totalWriteback: s.total_writeback,
      totalPgPgIn: s.total_pgpgin, totalPgPgOut: s.total_pgpgout, totalPgFault: s.total_pgfault,
      totalPgMajFault: s.total_pgmajfault, totalInactiveAnon: s.total_inactive_anon,
      totalActiveAnon: s.total_active_anon, totalInactiveFile: s.total_inactive_file,
      totalActiveFile: s.total_active_file, totalUnevictable: s.total_unevictable,
      usage: entry('memory'),
      swap: entry('memory.memsw'),
      kernel: entry('memory.kmem'),
      kernelTcp: entry('memory.kmem.tcp'),
    };
    metrics.memoryOomControl = { oomKillDisable: oom.oom_kill_disable ?? 0, underOom: oom.under_oom ?? 0, oomKill: oom.oom_kill ?? 0 };
  }
  const pids = dir('pids');
  if (pids && fs.existsSync(pids)) {
    metrics.pids = { current: readNum(path.join(pids, 'pids.current')) ?? 0, limit: readNum(path.join(pids, 'pids.max')) ?? 0 };
  }
  return metrics;
}
