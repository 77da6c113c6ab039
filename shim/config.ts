// The sandbox's configuration: the TOML file named by the runtime options containerd passes
// (runtimeoptions.v1.Options.config_path), with flags named as in gVisor's runsc. The first
// container of a sandbox (for CRI, the pause container) decides it for the whole sandbox.
import * as fs from 'fs';
import { errnoMessage, invalidArgument, unimplemented } from './errors';
import type { google } from './gen/protos';
import { runtimeoptions } from './gen/protos';

/** SandboxConfig is what the flags set; each field is applied somewhere, none is decorative. */
export interface SandboxConfig {
  /**
   * platform: how the trapped system calls reach the sentry. Processes are ptrace-seized either
   * way; ptrace = a ptrace stop per trapped call, unotify = a seccomp user notification (the
   * default: faster; Linux 5.5+). docs/SYSCALLS.md has the measurements.
   */
  platform: 'ptrace' | 'unotify';
  /**
   * fileAccess: how container files reach the sandbox. exclusive (default): a gofer serves the
   * root and directory binds over FUSE with long caches (only this sandbox changes them);
   * shared: the same with short caches (the host or other pods may change them); direct: the
   * sandbox's set-up binds the host directories themselves, no gofer.
   */
  fileAccess: 'exclusive' | 'shared' | 'direct';
  /**
   * overlay: the root's writable layer, with a gofer. snapshot (default): the sandbox mounts the
   * root as an overlay of the image's layers, each served read-only by the gofer, under the
   * container's writable snapshot (containerd's overlay snapshotter), so writes land on disk
   * where runc puts them and never cross the gofer (as gVisor's default rootfs overlay keeps them
   * out of the gofer); a snapshot of another kind falls back to none. memory (`true`): a
   * size-limited tmpfs upper layer, so writes never reach the host at all. none (`false`): the
   * gofer serves every read and write of the root.
   */
  overlay: 'snapshot' | 'memory' | 'none';
  /** overlaySize: the memory upper layer's size limit in bytes. */
  overlaySize: number;
  /** network: sandbox = the spec's network namespace; none = a new empty one; host = the host's. */
  network: 'sandbox' | 'none' | 'host';
  /** debug: debug lines in the shim log and the sentry's log. */
  debug: boolean;
  /** debugLog: file for the sentry's log; %ID% = sandbox id, %COMMAND% = "sentry". */
  debugLog: string;
  /** logFormat: text (logrus style) or json shim log lines. */
  logFormat: 'text' | 'json';
  /** strace: every system call of the sandbox's containers logged to the sentry's log. */
  strace: boolean;
  /** straceSyscalls: the calls strace logs, by name (empty = all). */
  straceSyscalls: string[];
  /** straceLogSize: how many bytes of a string or buffer argument strace prints. */
  straceLogSize: number;
}

/** DEFAULT_CONFIG is the configuration without a config file. */
export const DEFAULT_CONFIG: SandboxConfig = {
  platform: 'unotify',  // measured faster than ptrace (docs/SYSCALLS.md)
  fileAccess: 'exclusive',
  overlay: 'snapshot',
  overlaySize: 256 << 20,
  network: 'sandbox',
  debug: false,
  debugLog: '',
  logFormat: 'text',
  strace: false,
  straceSyscalls: [],
  straceLogSize: 64,
};

type Value = string | boolean | number;

/** parseToml reads the flat TOML our config uses: key = "string" | true | false | number, # comments, an optional [table] header. */
export function parseToml(text: string, file: string): Record<string, Value> {
  const out: Record<string, Value> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/^\s+|\s+$/g, '');
    if (line === '' || line.startsWith('#') || /^\[[A-Za-z0-9_.-]+\]$/.test(line)) return;
    const m = /^([A-Za-z0-9_-]+)\s*=\s*(.*?)\s*(#.*)?$/.exec(line);
    if (!m) throw invalidArgument(`${file}:${i + 1}: cannot parse "${line}"`);
    const v = m[2];
    if (/^"(?:[^"\\]|\\.)*"$/.test(v)) out[m[1]] = JSON.parse(v);
    else if (v === 'true' || v === 'false') out[m[1]] = v === 'true';
    else if (/^-?\d+$/.test(v)) out[m[1]] = Number(v);
    else throw invalidArgument(`${file}:${i + 1}: value of ${m[1]} must be a "string", true, false or a number`);
  });
  return out;
}

function oneOf<T extends string>(file: string, key: string, v: Value, allowed: readonly T[], later: readonly string[] = []): T {
  const s = String(v);
  if ((allowed as readonly string[]).includes(s)) return s as T;
  if (later.includes(s)) throw unimplemented(`${file}: ${key} = "${s}" is not supported yet (supported: ${allowed.join(', ')})`);
  throw invalidArgument(`${file}: ${key} = "${s}": must be one of ${[...allowed, ...later].join(', ')}`);
}

function bool(file: string, key: string, v: Value): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw invalidArgument(`${file}: ${key} must be true or false`);
}

/** syscallNames splits a comma-separated list of syscall names; whether each exists is the sentry's to say. */
function syscallNames(file: string, key: string, v: Value): string[] {
  if (typeof v !== 'string') throw invalidArgument(`${file}: ${key} must be a "string" of comma-separated syscall names`);
  const names = v.split(',').map((n) => n.trim()).filter((n) => n !== '');
  for (const n of names) {
    if (!/^[A-Za-z0-9_]+$/.test(n)) throw invalidArgument(`${file}: ${key}: "${n}" is not a syscall name`);
  }
  return names;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1 << 10, ki: 1 << 10, m: 1 << 20, mi: 1 << 20, g: 1 << 30, gi: 1 << 30 };

/** byteSize reads a size: a number of bytes, or a string such as "256Mi" or "1G" (powers of 1024). */
function byteSize(file: string, key: string, v: Value): number {
  const m = /^(\d+)\s*([kmg]i?)?$/i.exec(String(v));
  const n = m ? Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()] : NaN;
  if (!Number.isSafeInteger(n) || n < 1 << 20) throw invalidArgument(`${file}: ${key} must be a size of at least 1Mi, such as "256Mi" or "1Gi"`);
  return n;
}

/** configFromToml validates the flags of a config file; unknown or unsupported flags are errors. */
export function configFromToml(values: Record<string, Value>, file: string): SandboxConfig {
  const c: SandboxConfig = { ...DEFAULT_CONFIG };
  for (const [key, v] of Object.entries(values)) {
    switch (key) {
      case 'platform':
        c.platform = oneOf(file, key, v, ['ptrace', 'unotify'] as const, ['kvm', 'systrap']);
        break;
      case 'file-access':
        c.fileAccess = oneOf(file, key, v, ['exclusive', 'shared', 'direct'] as const);
        break;
      case 'network':
        c.network = oneOf(file, key, v, ['sandbox', 'none', 'host'] as const);
        break;
      case 'debug':
        c.debug = bool(file, key, v);
        break;
      case 'debug-log':
        c.debugLog = String(v);
        break;
      case 'log-format':
        c.logFormat = oneOf(file, key, v, ['text', 'json'] as const);
        break;
      case 'strace':
        c.strace = bool(file, key, v);
        break;
      case 'strace-syscalls':
        c.straceSyscalls = syscallNames(file, key, v);
        break;
      case 'strace-log-size':
        if (typeof v !== 'number' || v < 1 || v > 65536) throw invalidArgument(`${file}: ${key} must be a number from 1 to 65536`);
        c.straceLogSize = v;
        break;
      case 'overlay':
        // true and false: the flag's first form (a memory upper layer or none).
        if (typeof v === 'boolean' || v === 'true' || v === 'false') c.overlay = bool(file, key, v) ? 'memory' : 'none';
        else c.overlay = oneOf(file, key, v, ['snapshot', 'memory', 'none'] as const);
        break;
      case 'overlay-size':
        c.overlaySize = byteSize(file, key, v);
        break;
      default:
        throw invalidArgument(`${file}: unknown flag "${key}"`);
    }
  }
  // direct binds the snapshot itself: its writes already land there, so the default says nothing.
  if (c.overlay === 'memory' && c.fileAccess === 'direct') throw invalidArgument(`${file}: overlay = "memory" needs file-access exclusive or shared (the overlay sits on the gofer's file system)`);
  return c;
}

const OPTION_TYPES = new Set(['runtimeoptions.v1.Options', 'cri.runtimeoptions.v1.Options']);

/** loadConfig reads the config file named by a task's runtime options (none: the defaults). */
export function loadConfig(options: google.protobuf.IAny | null | undefined): SandboxConfig {
  if (!options || !options.typeUrl) return { ...DEFAULT_CONFIG };
  const typeName = options.typeUrl.replace(/^.*\//, '');
  if (!OPTION_TYPES.has(typeName)) throw invalidArgument(`runtime options of type ${options.typeUrl} are not understood (want runtimeoptions.v1.Options)`);
  const file = runtimeoptions.v1.Options.decode(options.value ?? new Uint8Array()).configPath;
  if (!file) return { ...DEFAULT_CONFIG };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw invalidArgument(`reading runtime config ${file}: ${errnoMessage(err)}`);
  }
  return configFromToml(parseToml(text, file), file);
}
