// Builds OCI image archives without docker or network (busybox from the host's static
// /bin/busybox, the CRI pause image from integration/pause/pause.c, and busybox images holding
// host ELF programs with the shared libraries ldd names: any dynamic binary, python3) and
// imports them into a containerd.
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { CRI_NAMESPACE, Containerd, PAUSE_IMAGE, REPO_DIR } from './containerd';

export { PAUSE_IMAGE };

/** BUSYBOX_IMAGE is the reference the imported busybox image gets in containerd. */
export const BUSYBOX_IMAGE = 'docker.io/library/busybox:runsc-ts';

/** BUSYBOX_BINARY is the static busybox on the host that the image is made from. */
export const BUSYBOX_BINARY = '/bin/busybox';

// Bump when the image layout changes, so cached archives are rebuilt.
const FORMAT_VERSION = 'runsc-ts-busybox-image-v1';

/** PAUSE_SOURCE is the C source of the pause program (PID 1 of every CRI pod). */
export const PAUSE_SOURCE = path.join(REPO_DIR, 'integration', 'pause', 'pause.c');

// Bump when the pause image layout or its build flags change.
const PAUSE_FORMAT_VERSION = 'runsc-ts-pause-image-v1';

// The real registry.k8s.io/pause runs as this user too; CRI takes it from the image config.
const PAUSE_USER = '65535:65535';

// A fixed mtime keeps the archive byte-for-byte reproducible (2000-01-01T00:00:00Z).
const MTIME = 946684800;

/** TarEntry is one member of a tar archive written by `tar()`. */
export interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid?: number;
  gid?: number;
  data?: Buffer;
  linkname?: string;
}

// Writes `value` as a NUL-terminated, zero-padded octal number filling `len` bytes.
function writeOctal(header: Buffer, offset: number, len: number, value: number): void {
  const digits = value.toString(8).padStart(len - 1, '0');
  if (digits.length > len - 1) throw new Error(`tar: value ${value} does not fit in ${len} bytes`);
  header.write(digits + '\0', offset, len, 'ascii');
}

// Splits a long name into ustar prefix (155) and name (100) at a slash.
function splitName(name: string): [string, string] {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return [prefix, rest];
  }
  throw new Error(`tar: name too long: ${name}`);
}

// Builds the 512-byte ustar header of one entry.
function tarHeader(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const name = e.type === 'dir' && !e.name.endsWith('/') ? e.name + '/' : e.name;
  const [prefix, short] = splitName(name);
  h.write(short, 0, 100, 'utf8');
  writeOctal(h, 100, 8, e.mode & 0o7777);
  writeOctal(h, 108, 8, e.uid ?? 0);
  writeOctal(h, 116, 8, e.gid ?? 0);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, MTIME);
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h.write(e.type === 'file' ? '0' : e.type === 'symlink' ? '2' : '5', 156, 1, 'ascii');
  if (e.linkname !== undefined) {
    if (Buffer.byteLength(e.linkname) > 100) throw new Error(`tar: link target too long: ${e.linkname}`);
    h.write(e.linkname, 157, 100, 'utf8');
  }
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write((e.uid ?? 0) === 0 ? 'root' : '', 265, 32, 'ascii');
  h.write((e.gid ?? 0) === 0 ? 'root' : '', 297, 32, 'ascii');
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** tar serialises entries, in the order given, as an uncompressed ustar archive. */
export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === 'file' ? e.data ?? Buffer.alloc(0) : Buffer.alloc(0);
    parts.push(tarHeader(e, data.length), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

function sha256(b: Buffer | string): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

// Lists the applets of the host busybox (`busybox --list`).
function busyboxApplets(binary: string): string[] {
  const out = execFileSync(binary, ['--list'], { encoding: 'utf8' });
  const names = out.split('\n').map((s) => s.trim()).filter((s) => s !== '' && s !== 'busybox' && !s.includes('/'));
  return [...new Set(names)].sort();
}

/** busyboxLayerEntries returns the files of the single image layer, in archive order. */
export function busyboxLayerEntries(busybox: Buffer, applets: string[]): TarEntry[] {
  const text = (s: string): Buffer => Buffer.from(s, 'utf8');
  const dir = (name: string, mode = 0o755, uid = 0, gid = 0): TarEntry => ({ name, type: 'dir', mode, uid, gid });
  const entries: TarEntry[] = [
    dir('bin'),
    { name: 'bin/busybox', type: 'file', mode: 0o755, data: busybox },
    ...applets.map((a): TarEntry => ({ name: `bin/${a}`, type: 'symlink', mode: 0o777, linkname: 'busybox' })),
    dir('dev'),
    dir('etc'),
    {
      name: 'etc/group',
      type: 'file',
      mode: 0o644,
      data: text('root:x:0:\nnogroup:x:65534:\nuser:x:1000:\n'),
    },
    {
      name: 'etc/passwd',
      type: 'file',
      mode: 0o644,
      data: text(
        'root:x:0:0:root:/root:/bin/sh\n' +
          'nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' +
          'user:x:1000:1000::/home/user:/bin/sh\n',
      ),
    },
    dir('home'),
    dir('home/user', 0o755, 1000, 1000),
    dir('proc'),
    dir('root', 0o700),
    dir('run'),
    dir('sys'),
    dir('tmp', 0o1777),
    dir('var'),
  ];
  return entries;
}

/** ImageArchive describes a built OCI archive: its path and the digests inside it. */
export interface ImageArchive {
  path: string;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
}

// Builds the OCI image layout archive of busybox in memory.
function buildArchive(busybox: Buffer, applets: string[]): { archive: Buffer; info: Omit<ImageArchive, 'path'> } {
  return ociArchive(
    BUSYBOX_IMAGE,
    busyboxLayerEntries(busybox, applets),
    { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    `${FORMAT_VERSION} from ${BUSYBOX_BINARY}`,
  );
}

// Builds a single-layer OCI image layout archive named `ref` in memory; `runConfig` is the
// image config's "config" object (Env, Cmd, Entrypoint, User).
export function ociArchive(
  ref: string,
  layer: TarEntry[],
  runConfig: Record<string, unknown>,
  createdBy: string,
): { archive: Buffer; info: Omit<ImageArchive, 'path'> } {
  return layeredOciArchive(ref, [layer], runConfig, createdBy);
}

// Builds an OCI image layout archive of `layers` (bottom first) named `ref` in memory; info's
// layerDigest is the top layer's.
export function layeredOciArchive(
  ref: string,
  layers: TarEntry[][],
  runConfig: Record<string, unknown>,
  createdBy: string,
): { archive: Buffer; info: Omit<ImageArchive, 'path'> } {
  const blobs = layers.map((entries) => {
    const layerTar = tar(entries);
    const gz = zlib.gzipSync(layerTar, { level: 9 });
    return { gz, diffId: `sha256:${sha256(layerTar)}`, digest: `sha256:${sha256(gz)}` };
  });
  const created = new Date(MTIME * 1000).toISOString();
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created,
      config: runConfig,
      rootfs: { type: 'layers', diff_ids: blobs.map((b) => b.diffId) },
      history: blobs.map((_b, i) => ({ created, created_by: `${createdBy}${blobs.length > 1 ? ` (layer ${i + 1})` : ''}` })),
    }),
  );
  const configDigest = `sha256:${sha256(config)}`;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: blobs.map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: b.digest, size: b.gz.length })),
    }),
  );
  const manifestDigest = `sha256:${sha256(manifest)}`;
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: {
            'io.containerd.image.name': ref,
            'org.opencontainers.image.ref.name': ref.slice(ref.lastIndexOf(':') + 1),
          },
        },
      ],
    }),
  );
  const blob = (digest: string, data: Buffer): TarEntry => ({
    name: `blobs/sha256/${digest.slice('sha256:'.length)}`,
    type: 'file',
    mode: 0o644,
    data,
  });
  const archive = tar([
    { name: 'blobs', type: 'dir', mode: 0o755 },
    { name: 'blobs/sha256', type: 'dir', mode: 0o755 },
    blob(configDigest, config),
    ...blobs.map((b) => blob(b.digest, b.gz)),
    blob(manifestDigest, manifest),
    { name: 'index.json', type: 'file', mode: 0o644, data: index },
    { name: 'oci-layout', type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
  ]);
  return { archive, info: { manifestDigest, configDigest, layerDigest: blobs[blobs.length - 1].digest } };
}

/** IMAGE_CACHE_DIR is where built image archives are cached between runs. */
export const IMAGE_CACHE_DIR = path.join(REPO_DIR, 'build', 'integration', 'images');

/**
 * buildBusyboxImage writes (or reuses) the busybox OCI archive in `dir` and returns its path;
 * the file name carries a hash of the busybox binary and the format version.
 */
export async function buildBusyboxImage(dir: string = IMAGE_CACHE_DIR): Promise<string> {
  const file = path.join(dir, archiveName(await fs.promises.readFile(BUSYBOX_BINARY), busyboxApplets(BUSYBOX_BINARY)));
  if (fs.existsSync(file)) return file;
  return (await buildBusyboxArchive(dir)).path;
}

// Names the archive after everything that goes into it, so a cached file is always current.
function archiveName(busybox: Buffer, applets: string[]): string {
  const key = sha256(Buffer.concat([Buffer.from(FORMAT_VERSION + '\0' + BUSYBOX_IMAGE + '\0' + applets.join(',') + '\0'), busybox]));
  return `busybox-oci-${key.slice(0, 16)}.tar`;
}

/** buildBusyboxArchive builds the archive (rewriting the cached file only if it differs) and returns its digests. */
export async function buildBusyboxArchive(dir: string = IMAGE_CACHE_DIR): Promise<ImageArchive> {
  const busybox = await fs.promises.readFile(BUSYBOX_BINARY);
  const applets = busyboxApplets(BUSYBOX_BINARY);
  const file = path.join(dir, archiveName(busybox, applets));
  const { archive, info } = buildArchive(busybox, applets);
  await writeCached(file, archive);
  return { path: file, ...info };
}

// Writes `data` to `file` unless it already holds exactly that (atomically, via a temp file).
async function writeCached(file: string, data: Buffer): Promise<void> {
  try {
    const existing = await fs.promises.readFile(file);
    if (existing.equals(data)) return;
  } catch {
    // not cached yet
  }
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, data);
  await fs.promises.rename(tmp, file);
}

/**
 * buildPauseBinary compiles PAUSE_SOURCE statically with gcc (cached in `dir` under a hash of
 * the source and flags) and returns the binary's path.
 */
export async function buildPauseBinary(dir: string = IMAGE_CACHE_DIR): Promise<string> {
  const source = await fs.promises.readFile(PAUSE_SOURCE);
  const flags = ['-static', '-O2', '-s', '-Wall', '-Wextra', '-Werror'];
  const key = sha256(Buffer.concat([Buffer.from(PAUSE_FORMAT_VERSION + '\0' + flags.join(' ') + '\0'), source]));
  const file = path.join(dir, `pause-${key.slice(0, 16)}`);
  if (fs.existsSync(file)) return file;
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    execFileSync('gcc', [...flags, '-o', tmp, PAUSE_SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`building pause from ${PAUSE_SOURCE}: ${e.stderr?.toString().trim() || e.message}`);
  }
  await fs.promises.rename(tmp, file);
  return file;
}

/**
 * buildPauseImage writes (or reuses) the OCI archive of PAUSE_IMAGE: one layer holding /pause,
 * entrypoint /pause, user 65535:65535 like the real pause image; returns its path and digests.
 */
export async function buildPauseImage(dir: string = IMAGE_CACHE_DIR): Promise<ImageArchive> {
  const binary = await fs.promises.readFile(await buildPauseBinary(dir));
  const { archive, info } = ociArchive(
    PAUSE_IMAGE,
    [{ name: 'pause', type: 'file', mode: 0o755, data: binary }],
    { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Entrypoint: ['/pause'], User: PAUSE_USER },
    `${PAUSE_FORMAT_VERSION} from integration/pause/pause.c`,
  );
  const file = path.join(dir, `pause-oci-${sha256(archive).slice(0, 16)}.tar`);
  await writeCached(file, archive);
  return { path: file, ...info };
}

/**
 * importImage imports the busybox archive into `cd` (building it if needed) under `ref`
 * (default BUSYBOX_IMAGE), in `namespace` (default the containerd's own), and checks that
 * `ctr images ls` lists it.
 */
export async function importImage(cd: Containerd, ref: string = BUSYBOX_IMAGE, namespace: string = cd.namespace): Promise<void> {
  await importArchive(cd, await buildBusyboxImage(), BUSYBOX_IMAGE, ref, namespace);
}

/** importPauseImage imports PAUSE_IMAGE (building it if needed) into `namespace`, default k8s.io. */
export async function importPauseImage(cd: Containerd, namespace: string = CRI_NAMESPACE): Promise<void> {
  await importArchive(cd, (await buildPauseImage()).path, PAUSE_IMAGE, PAUSE_IMAGE, namespace);
}

/** importCriImages imports busybox and the pause image into the CRI's namespace, k8s.io. */
export async function importCriImages(cd: Containerd): Promise<void> {
  await importPauseImage(cd, CRI_NAMESPACE);
  await importImage(cd, BUSYBOX_IMAGE, CRI_NAMESPACE);
}

/**
 * importArchive imports `archive` (whose index names `name`) into `namespace`, tags it `ref` if
 * that differs, and checks that `ctr images ls` lists `ref`.
 */
export async function importArchive(cd: Containerd, archive: string, name: string, ref: string, namespace: string): Promise<void> {
  const ctr = (args: string[], timeoutMs: number): ReturnType<Containerd['ctr']> => cd.ctrNs(namespace, args, { timeoutMs });
  const imp = await ctr(['images', 'import', archive], 60_000);
  if (imp.code !== 0) throw new Error(`importing ${archive} as ${ref} into ${namespace}: ctr exited ${imp.code}: ${imp.stderr.trim()}`);
  if (ref !== name) {
    const tag = await ctr(['images', 'tag', '--force', name, ref], 30_000);
    if (tag.code !== 0) throw new Error(`tagging ${name} as ${ref} in ${namespace}: ${tag.stderr.trim()}`);
  }
  const ls = await ctr(['images', 'ls', '-q'], 30_000);
  if (ls.code !== 0 || !ls.stdout.split('\n').includes(ref)) {
    throw new Error(`importing ${archive}: image ${ref} not listed in ${namespace} after import: ${ls.stdout.trim()} ${ls.stderr.trim()}`);
  }
}

/** HostFile puts the host file `source` at `path` in an image (see buildHostFilesImage). */
export interface HostFile {
  /** absolute path inside the image. */
  path: string;
  /** host path; symlinks are followed, so the layer holds a regular file at `path`. */
  source: string;
  /** ldd: also add the shared libraries and ELF interpreter `ldd source` names, at its paths. */
  ldd?: boolean;
}

/**
 * sharedLibraries returns the paths `ldd binary` names: each shared library and the ELF
 * interpreter (not the vDSO, which has no file); [] for a static binary.
 */
export function sharedLibraries(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    if (/not a dynamic executable/.test(text)) return [];
    throw new Error(`ldd ${binary}: ${text.trim() || e.message}`);
  }
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    if (line.includes('=> not found')) throw new Error(`ldd ${binary}: a library is missing on the host: ${line.trim()}`);
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /=> (\/\S+) \(/.exec(line) ?? /^\s*(\/\S+) \(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/** HostFilesImage describes a busybox image with host files added (see buildHostFilesImage). */
export interface HostFilesImage {
  ref: string;
  /** bump when the layout changes, so cached archives are rebuilt. */
  formatVersion: string;
  /** prefix of the cached archive's file name. */
  name: string;
  files: HostFile[];
  /** small entries of the caller's own (symlinks, config files), added after the host files. */
  extra?: TarEntry[];
  /** the image config's "config" object. */
  runConfig: Record<string, unknown>;
}

// Resolves the image's files: the given ones plus, for those marked ldd, their shared libraries
// (each image path once; the same library is named by many binaries).
function resolveHostFiles(files: HostFile[]): Map<string, string> {
  const byPath = new Map<string, string>();
  const add = (p: string, source: string): void => {
    if (!path.isAbsolute(p)) throw new Error(`image path ${p} is not absolute`);
    if (!byPath.has(p)) byPath.set(p, source);
  };
  for (const f of files) {
    add(f.path, f.source);
    if (f.ldd) for (const lib of sharedLibraries(f.source)) add(lib, lib);
  }
  return byPath;
}

// Lays out the layer: busybox first, then every missing parent directory, then the host files
// (read through symlinks) and the caller's extra entries.
function hostFilesLayer(files: Map<string, string>, extra: TarEntry[], busybox: Buffer, applets: string[]): TarEntry[] {
  const entries = busyboxLayerEntries(busybox, applets);
  const names = new Set(entries.map((e) => e.name));
  const own = [...[...files.keys()].map((p) => p.slice(1)), ...extra.map((e) => e.name)];
  const dirs = new Set<string>();
  for (const name of own) {
    for (let d = path.posix.dirname(name); d !== '.'; d = path.posix.dirname(d)) if (!names.has(d)) dirs.add(d);
  }
  for (const d of [...dirs].sort()) entries.push({ name: d, type: 'dir', mode: 0o755 });
  for (const p of [...files.keys()].sort()) {
    const source = files.get(p)!;
    entries.push({ name: p.slice(1), type: 'file', mode: fs.statSync(source).mode & 0o7777, data: fs.readFileSync(source) });
  }
  entries.push(...extra);
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new Error(`image layer: ${e.name} twice`);
    seen.add(e.name);
  }
  return entries;
}

/**
 * buildHostFilesImage writes (or reuses) the OCI archive of a busybox image holding `spec.files`
 * and returns its path. The cached file's name carries a hash of the format version, the ref, the
 * run config, the extra entries, busybox, and every host file's path, size and mtime.
 */
export async function buildHostFilesImage(spec: HostFilesImage, dir: string = IMAGE_CACHE_DIR): Promise<string> {
  const files = resolveHostFiles(spec.files);
  const extra = spec.extra ?? [];
  const applets = busyboxApplets(BUSYBOX_BINARY);
  const key = crypto.createHash('sha256');
  key.update(`${spec.formatVersion}\0${spec.ref}\0${JSON.stringify(spec.runConfig)}\0${applets.join(',')}\0`);
  for (const e of extra) key.update(`${e.name}\0${e.type}\0${e.mode}\0${e.linkname ?? ''}\0`).update(e.data ?? '');
  for (const [p, source] of [[BUSYBOX_BINARY, BUSYBOX_BINARY], ...[...files].sort(([a], [b]) => (a < b ? -1 : 1))]) {
    const st = fs.statSync(source);
    key.update(`${p}\0${fs.realpathSync(source)}\0${st.size}\0${st.mtimeMs}\0${st.mode}\0`);
  }
  const file = path.join(dir, `${spec.name}-oci-${key.digest('hex').slice(0, 16)}.tar`);
  if (fs.existsSync(file)) return file;
  const layer = hostFilesLayer(files, extra, await fs.promises.readFile(BUSYBOX_BINARY), applets);
  const { archive } = ociArchive(spec.ref, layer, spec.runConfig, `${spec.formatVersion}: busybox and host files`);
  await writeCached(file, archive);
  return file;
}

const IMAGE_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** DYNAMIC_IMAGE is the reference of the image made by buildDynamicImage. */
export const DYNAMIC_IMAGE = 'localhost/runsc-ts/dynamic:test';

// Bump when the dynamic image's layout changes.
const DYNAMIC_FORMAT_VERSION = 'runsc-ts-dynamic-image-v1';

/**
 * buildDynamicImage makes a busybox image holding the dynamically linked `binary` at `imagePath`
 * and exactly the libraries ldd names for it, plus an /etc/hosts naming localhost (and an
 * nsswitch.conf reading only it, so name lookups never try DNS); returns the archive's path.
 */
export function buildDynamicImage(binary: string, imagePath: string, dir: string = IMAGE_CACHE_DIR): Promise<string> {
  const text = (name: string, s: string): TarEntry => ({ name, type: 'file', mode: 0o644, data: Buffer.from(s) });
  return buildHostFilesImage(
    {
      ref: DYNAMIC_IMAGE,
      formatVersion: DYNAMIC_FORMAT_VERSION,
      name: 'dynamic',
      files: [{ path: imagePath, source: binary, ldd: true }],
      extra: [text('etc/hosts', '127.0.0.1 localhost\n'), text('etc/nsswitch.conf', 'hosts: files\n')],
      runConfig: { Env: [IMAGE_PATH_ENV], Cmd: [imagePath] },
    },
    dir,
  );
}

/** PYTHON_BINARY is the host's python3 that the python image is made from (Debian 12's). */
export const PYTHON_BINARY = '/usr/bin/python3.11';

/** PYTHON_IMAGE is the reference of the image made by buildPythonImage. */
export const PYTHON_IMAGE = 'localhost/runsc-ts/python:3.11';

// Bump when the python image's layout changes.
const PYTHON_FORMAT_VERSION = 'runsc-ts-python-image-v1';

// Parts of the standard library nothing in the tests imports (test suites, GUIs, installers,
// build files); __pycache__ too: its .pyc files name the host's mtimes, which the layer's fixed
// mtime would make stale anyway.
const PYTHON_SKIP = new Set([
  '__pycache__',
  'test',
  'tests',
  'idle_test',
  'idlelib',
  'tkinter',
  'turtledemo',
  'ensurepip',
  'lib2to3',
  'pydoc_data',
  'distutils',
  'venv',
]);

// Lists the standard library under `stdlib` as host files: regular files, and symlinks whose
// target is inside it (copied as files); symlinks out of it (Debian's sitecustomize.py into
// /etc) are host configuration and stay out. Extension modules get their libraries too.
function pythonStdlibFiles(stdlib: string): HostFile[] {
  const files: HostFile[] = [];
  const real = fs.realpathSync(stdlib);
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (PYTHON_SKIP.has(e.name) || e.name.startsWith('config-')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() || e.isSymbolicLink()) {
        let target: string;
        try {
          target = fs.realpathSync(p);
        } catch {
          continue; // dangling
        }
        if (!target.startsWith(real + '/') || !fs.statSync(target).isFile()) continue;
        files.push({ path: p, source: p, ldd: e.name.endsWith('.so') });
      }
    }
  };
  walk(stdlib);
  return files;
}

/**
 * buildPythonImage makes a busybox image holding PYTHON_BINARY, `python3` linking to it, its
 * standard library (without PYTHON_SKIP), every library ldd names for the interpreter and the
 * extension modules, and libgcc_s; returns the archive's path. The interpreter must exist on the host.
 */
export function buildPythonImage(dir: string = IMAGE_CACHE_DIR): Promise<string> {
  const name = path.basename(PYTHON_BINARY);
  const stdlib = path.join('/usr/lib', name);
  // glibc dlopens libgcc_s beside libc to unwind in pthread_exit, which python calls for a thread
  // still running at exit; ldd cannot see a dlopen, and without it that thread aborts the process.
  const libc = sharedLibraries(PYTHON_BINARY).find((l) => path.basename(l).startsWith('libc.so'));
  const libgcc = libc && path.join(path.dirname(libc), 'libgcc_s.so.1');
  const runtimeLibs: HostFile[] = libgcc && fs.existsSync(libgcc) ? [{ path: libgcc, source: libgcc }] : [];
  return buildHostFilesImage(
    {
      ref: PYTHON_IMAGE,
      formatVersion: PYTHON_FORMAT_VERSION,
      name: 'python',
      files: [{ path: PYTHON_BINARY, source: PYTHON_BINARY, ldd: true }, ...runtimeLibs, ...pythonStdlibFiles(stdlib)],
      extra: [{ name: path.join(path.dirname(PYTHON_BINARY), 'python3').slice(1), type: 'symlink', mode: 0o777, linkname: name }],
      // No .pyc writes: every container would compile into its own copy of the image anyway.
      runConfig: { Env: [IMAGE_PATH_ENV, 'PYTHONDONTWRITEBYTECODE=1'], Cmd: ['python3'] },
    },
    dir,
  );
}

/** LAYERED_IMAGE is the reference of the image made by buildLayeredImage. */
export const LAYERED_IMAGE = 'localhost/runsc-ts/layered:test';

// Bump when the layered image's layout changes.
const LAYERED_FORMAT_VERSION = 'runsc-ts-layered-image-v1';

/**
 * buildLayeredImage makes a three-layer image (busybox; then /data and /gone; then changes on
 * top with the OCI whiteout files containerd turns into overlay whiteouts: /data/a and /gone
 * removed, /data/dir opaque) and returns its archive's path. What the container sees:
 * /data/b ("b2"), /data/dir/z ("z3"), /etc/layer ("3"), /etc/only3 ("3"); no /data/a, no
 * /data/dir/x or y, no /gone.
 */
export async function buildLayeredImage(dir: string = IMAGE_CACHE_DIR): Promise<string> {
  const busybox = await fs.promises.readFile(BUSYBOX_BINARY);
  const applets = busyboxApplets(BUSYBOX_BINARY);
  const d = (name: string): TarEntry => ({ name, type: 'dir', mode: 0o755 });
  const f = (name: string, text: string): TarEntry => ({ name, type: 'file', mode: 0o644, data: Buffer.from(text) });
  const layers: TarEntry[][] = [
    busyboxLayerEntries(busybox, applets),
    [d('data'), f('data/a', 'a2\n'), f('data/b', 'b2\n'), d('data/dir'), f('data/dir/x', 'x2\n'), f('data/dir/y', 'y2\n'), d('gone'), f('gone/p', 'p2\n'), d('etc'), f('etc/layer', '2\n')],
    [d('data'), f('data/.wh.a', ''), d('data/dir'), f('data/dir/.wh..wh..opq', ''), f('data/dir/z', 'z3\n'), f('.wh.gone', ''), d('etc'), f('etc/layer', '3\n'), f('etc/only3', '3\n')],
  ];
  const key = sha256(Buffer.concat([Buffer.from(`${LAYERED_FORMAT_VERSION}\0${LAYERED_IMAGE}\0${applets.join(',')}\0`), busybox]));
  const file = path.join(dir, `layered-oci-${key.slice(0, 16)}.tar`);
  if (fs.existsSync(file)) return file;
  const { archive } = layeredOciArchive(LAYERED_IMAGE, layers, { Env: [IMAGE_PATH_ENV], Cmd: ['sh'] }, LAYERED_FORMAT_VERSION);
  await writeCached(file, archive);
  return file;
}
