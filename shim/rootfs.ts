// Mounts the root file system containerd prepared (CreateTaskRequest.rootfs) at <bundle>/rootfs,
// and unmounts it again; the shim owns that mount from Create to Delete. With the snapshot root
// overlay nothing is mounted: snapshotLayers splits containerd's overlay snapshot instead.
import * as path from 'path';
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

/** SnapshotLayers is an overlay snapshot split into its image layers and its writable layer. */
export interface SnapshotLayers {
  /** lowers are the image's layer directories, top first (overlayfs lowerdir order). */
  lowers: string[];
  upperdir: string;
  workdir: string;
  /** options are the snapshot's other overlay options ("index=off", "userxattr", ...). */
  options: string[];
}

/**
 * snapshotLayers splits containerd's overlay snapshot (one overlay mount with lowerdir, upperdir
 * and workdir) into its layers; any other rootfs (a bind, several mounts, a view without an upper
 * layer) is undefined.
 */
export function snapshotLayers(mounts: RootfsMount[]): SnapshotLayers | undefined {
  if (mounts.length !== 1 || mounts[0].type !== 'overlay') return undefined;
  let lowers: string[] = [];
  let upperdir = '';
  let workdir = '';
  const options: string[] = [];
  for (const o of mounts[0].options ?? []) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    const value = eq < 0 ? '' : o.slice(eq + 1);
    if (key === 'lowerdir') lowers = value.split(':').filter((l) => l !== '');
    else if (key === 'upperdir') upperdir = value;
    else if (key === 'workdir') workdir = value;
    else if (o !== 'rw') options.push(o);
  }
  const plain = (p: string): boolean => path.isAbsolute(p) && !/[,\\:]/.test(p);
  if (lowers.length === 0 || !plain(upperdir) || !plain(workdir) || !lowers.every(plain)) return undefined;
  return { lowers, upperdir, workdir, options };
}
