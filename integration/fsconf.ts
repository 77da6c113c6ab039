// The in-container file-system conformance program (fsconf/fsconf.c, see its header): built
// statically with gcc like the probe (probe.ts), cached, and put in a directory that tests
// bind-mount read-only at /fsconf. The same binary runs under runc and under runsc-ts and the
// outputs are compared; each run also checks itself against what POSIX/Linux define.
import * as path from 'path';
import { REPO_DIR } from './containerd';
import { buildStatic, installStatic, STATIC_FLAGS } from './probe';

/** FSCONF_SOURCE is the C source of the conformance program. */
const FSCONF_SOURCE = path.join(REPO_DIR, 'integration', 'fsconf', 'fsconf.c');

/** buildFsconf compiles FSCONF_SOURCE statically (cached in IMAGE_CACHE_DIR under a hash of source and flags). */
export function buildFsconf(): string {
  return buildStatic(FSCONF_SOURCE, STATIC_FLAGS, 'fsconf');
}

/** installFsconf copies fsconf to <dir>/fsconf/fsconf and returns <dir>/fsconf, for `--mount type=bind,src=...,dst=/fsconf`. */
export function installFsconf(dir: string): string {
  return installStatic(buildFsconf(), dir, 'fsconf', 'fsconf');
}
