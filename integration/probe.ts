// The in-container probe (probe/escape.c, see its header): built statically with gcc, cached,
// and put in a directory that tests and make bench bind-mount read-only at /probe.
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_DIR } from './containerd';
import { IMAGE_CACHE_DIR } from './image';

/** PROBE_SOURCE is the C source of the in-container probe (see its header). */
const PROBE_SOURCE = path.join(REPO_DIR, 'integration', 'probe', 'escape.c');
const PROBE_FLAGS = ['-static', '-O2', '-s', '-Wall', '-Wextra', '-Werror', '-pthread'];

/** buildProbe compiles PROBE_SOURCE statically (cached in IMAGE_CACHE_DIR under a hash of source and flags). */
export function buildProbe(): string {
  const source = fs.readFileSync(PROBE_SOURCE);
  const key = crypto.createHash('sha256').update(PROBE_FLAGS.join(' ') + '\0').update(source).digest('hex');
  const file = path.join(IMAGE_CACHE_DIR, `escape-probe-${key.slice(0, 16)}`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(IMAGE_CACHE_DIR, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    execFileSync('gcc', [...PROBE_FLAGS, '-o', tmp, PROBE_SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`building the probe from ${PROBE_SOURCE}: ${e.stderr?.toString().trim() || e.message}`);
  }
  fs.renameSync(tmp, file);
  return file;
}

/** installProbe copies the probe to <dir>/probe/escape and returns <dir>/probe, for `--mount type=bind,src=...,dst=/probe`. */
export function installProbe(dir: string): string {
  const probeDir = path.join(dir, 'probe');
  fs.mkdirSync(probeDir, { recursive: true });
  fs.copyFileSync(buildProbe(), path.join(probeDir, 'escape'));
  fs.chmodSync(path.join(probeDir, 'escape'), 0o755);
  return probeDir;
}
