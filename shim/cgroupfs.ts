// Where the host's cgroup hierarchies are mounted, read from /proc/self/mountinfo.
import * as fs from 'fs';

/** cgroupV1Mounts maps each mounted v1 controller (memory, cpuacct, ...) to its mount point. */
export function cgroupV1Mounts(mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8')): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [fstype, , superOpts] = post.split(' ');
    if (fstype !== 'cgroup') continue;
    const mountPoint = pre.split(' ')[4];
    for (const opt of (superOpts ?? '').split(',')) if (!out.has(opt)) out.set(opt, mountPoint);
  }
  return out;
}

/** cgroupMountPoints lists every cgroup (v1 and v2) mount point, where a container's cgroup dirs live. */
export function cgroupMountPoints(mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const out = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post && /^cgroup2? /.test(post)) out.add(pre.split(' ')[4]);
  }
  return [...out];
}
