// Mounts the root file system containerd prepared (CreateTaskRequest.rootfs) at <bundle>/rootfs,
// and unmounts it again; the shim owns that mount from Create to Delete.
import { errnoMessage, invalidArgument } from './errors';
import { native } from './native';
import { MS, parseMountOptions } from './spec/convert';

/** RootfsMount is one entry of CreateTaskRequest.rootfs. */
export interface RootfsMount {
  type?: string | null;
  source?: string | null;
  options?: string[] | null;
}

const MNT_DETACH = 2;

/** mountRootfs mounts the snapshot's mounts at target, in order; on failure undoes what it did. */
export function mountRootfs(mounts: RootfsMount[], target: string, where: string): void {
  const done: string[] = [];
  try {
    for (const m of mounts) {
      const type = m.type ?? '';
      const o = parseMountOptions(m.options ?? []);
      const bind = type === 'bind' || type === 'rbind' || (o.flags & MS.BIND) !== 0;
      const flags = bind ? (o.flags | MS.BIND | (type === 'rbind' ? MS.REC : 0)) & ~MS.RDONLY : o.flags;
      try {
        native.mount(m.source ?? '', target, bind ? '' : type, flags, o.data);
        done.push(target);
        if (bind && (o.flags & MS.RDONLY) !== 0) {
          native.mount('', target, '', MS.BIND | MS.REMOUNT | MS.RDONLY, '');
        }
      } catch (err) {
        throw invalidArgument(`${where}: mounting rootfs (${type} ${m.source ?? ''}): ${errnoMessage(err)}`);
      }
    }
  } catch (err) {
    for (const t of done.reverse()) unmountAll(t);
    throw err;
  }
}

/** unmountAll removes every mount stacked on target (detaching busy ones); absent target is fine. */
export function unmountAll(target: string): void {
  for (let i = 0; i < 16; i++) {
    try {
      native.umount(target, MNT_DETACH);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT') return; // not a mount point (any more)
      throw err;
    }
  }
}
