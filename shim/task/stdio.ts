// Opens the stdio a client names (containerd's FIFOs, or file:// URIs) as fds for the sentry.
import * as fs from 'fs';
import { errnoMessage, invalidArgument, unimplemented } from '../errors';

/** StdioPaths are the stdin/stdout/stderr strings of a Create or Exec request. */
export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** OpenStdio holds the fds passed to the sentry and the stdin keeper that CloseIO releases. */
export interface OpenStdio {
  fds: number[];
  hasStdin: boolean;
  hasStdout: boolean;
  hasStderr: boolean;
  /** stdinKeeper is a writer the shim holds so the process sees EOF only after CloseIO. */
  stdinKeeper: number;
}

function openOutput(uri: string, what: string, where: string): number {
  const u = parseUri(uri, what, where);
  try {
    if (u.scheme === 'file') return fs.openSync(u.path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o640);
    // O_RDWR never blocks on a FIFO, whether or not the client has its read end open yet.
    return fs.openSync(u.path, fs.constants.O_RDWR);
  } catch (err) {
    throw invalidArgument(`${where}: opening ${what} "${u.path}": ${errnoMessage(err)}`);
  }
}

function parseUri(uri: string, what: string, where: string): { scheme: string; path: string } {
  const m = /^([a-z]+):\/\/(.*)$/.exec(uri);
  if (!m) return { scheme: 'fifo', path: uri };
  if (m[1] === 'fifo' || m[1] === 'file') return { scheme: m[1], path: m[2] };
  if (m[1] === 'binary') throw unimplemented(`${where}: ${what} "${uri}": binary:// logging is not supported yet`);
  throw invalidArgument(`${where}: ${what} "${uri}": unknown scheme "${m[1]}"`);
}

/** openStdio opens what the request names; closeStdio must follow once the sentry has the fds. */
export function openStdio(p: StdioPaths, where: string): OpenStdio {
  const out: OpenStdio = { fds: [], hasStdin: false, hasStdout: false, hasStderr: false, stdinKeeper: -1 };
  try {
    if (p.stdin) {
      const u = parseUri(p.stdin, 'stdin', where);
      try {
        out.stdinKeeper = fs.openSync(u.path, fs.constants.O_RDWR);
        out.fds.push(fs.openSync(u.path, fs.constants.O_RDONLY));
      } catch (err) {
        throw invalidArgument(`${where}: opening stdin "${u.path}": ${errnoMessage(err)}`);
      }
      out.hasStdin = true;
    }
    if (p.stdout) {
      out.fds.push(openOutput(p.stdout, 'stdout', where));
      out.hasStdout = true;
    }
    if (p.stderr && !p.terminal) {
      out.fds.push(openOutput(p.stderr, 'stderr', where));
      out.hasStderr = true;
    }
    return out;
  } catch (err) {
    closeStdio(out);
    closeKeeper(out);
    throw err;
  }
}

/** closeStdio closes the shim's copies of the fds handed to the sentry. */
export function closeStdio(s: OpenStdio): void {
  for (const fd of s.fds.splice(0)) fs.closeSync(fd);
}

/** closeKeeper releases the stdin keeper, so the process reads EOF once the client closes too. */
export function closeKeeper(s: OpenStdio): void {
  if (s.stdinKeeper >= 0) {
    fs.closeSync(s.stdinKeeper);
    s.stdinKeeper = -1;
  }
}
