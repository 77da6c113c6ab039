// The in-container probe (probe/escape.c, see its header): built statically with gcc, cached,
// and put in a directory that tests and make bench bind-mount read-only at /probe. buildStatic
// and installStatic are shared with the other in-container programs (fsconf.ts).
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_DIR } from './containerd';
import { IMAGE_CACHE_DIR } from './image';

/** PROBE_SOURCE is the C source of the in-container probe (see its header). */
const PROBE_SOURCE = path.join(REPO_DIR, 'integration', 'probe', 'escape.c');
/** STATIC_FLAGS are gcc's flags for the in-container programs: static, stripped, warnings are errors. */
export const STATIC_FLAGS = ['-static', '-O2', '-s', '-Wall', '-Wextra', '-Werror', '-pthread'];

/**
 * buildStatic compiles one C source with gcc and flags into IMAGE_CACHE_DIR, as
 * `<name>-<hash of flags and source>`, and returns that file; an existing build is reused.
 */
export function buildStatic(source: string, flags: string[], name: string): string {
  const text = fs.readFileSync(source);
  const key = crypto.createHash('sha256').update(flags.join(' ') + '\0').update(text).digest('hex');
  const file = path.join(IMAGE_CACHE_DIR, `${name}-${key.slice(0, 16)}`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(IMAGE_CACHE_DIR, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    execFileSync('gcc', [...flags, '-o', tmp, source], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`building ${name} from ${source}: ${e.stderr?.toString().trim() || e.message}`);
  }
  fs.renameSync(tmp, file);
  return file;
}

/** installStatic copies binary to <dir>/<sub>/<fileName> (mode 755) and returns <dir>/<sub>, the directory to bind-mount. */
export function installStatic(binary: string, dir: string, sub: string, fileName: string): string {
  const target = path.join(dir, sub);
  fs.mkdirSync(target, { recursive: true });
  fs.copyFileSync(binary, path.join(target, fileName));
  fs.chmodSync(path.join(target, fileName), 0o755);
  return target;
}

/** buildProbe compiles PROBE_SOURCE statically (cached in IMAGE_CACHE_DIR under a hash of source and flags). */
export function buildProbe(): string {
  return buildStatic(PROBE_SOURCE, STATIC_FLAGS, 'escape-probe');
}

/** installProbe copies the probe to <dir>/probe/escape and returns <dir>/probe, for `--mount type=bind,src=...,dst=/probe`. */
export function installProbe(dir: string): string {
  return installStatic(buildProbe(), dir, 'probe', 'escape');
}
