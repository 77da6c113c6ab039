// Shim logging: logrus-style text lines to the shim log (containerd's <bundle>/log FIFO) or stderr.
import * as fs from 'fs';

let logFd = 2;
let debugEnabled = !!process.env.RUNSC_TS_DEBUG;

/** setLogFd sends every later log line to fd (the bundle's log FIFO). */
export function setLogFd(fd: number): void {
  logFd = fd;
}

/** getLogFd is the fd log lines currently go to (handed to the sentry as its stderr). */
export function getLogFd(): number {
  return logFd;
}

/** setDebug switches debug lines on or off. */
export function setDebug(on: boolean): void {
  debugEnabled = on;
}

/** isDebug tells whether debug lines are written. */
export function isDebug(): boolean {
  return debugEnabled;
}

function quote(v: string): string {
  return /^[A-Za-z0-9_./:@-]+$/.test(v) ? v : JSON.stringify(v);
}

let json = false;

/** setLogFormat picks logrus-style text lines or one JSON object per line. */
export function setLogFormat(format: 'text' | 'json'): void {
  json = format === 'json';
}

function write(level: string, msg: string, fields?: Record<string, unknown>): void {
  const time = new Date().toISOString();
  let line: string;
  if (json) {
    line = JSON.stringify({ time, level, msg, ...fields });
  } else {
    line = `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
    for (const [k, v] of Object.entries(fields ?? {})) line += ` ${k}=${quote(String(v))}`;
  }
  try {
    fs.writeSync(logFd, line + '\n');
  } catch {
    // The log reader (containerd) is gone; there is nowhere left to report to.
  }
}

/** log writes shim log lines at a level, with optional key=value fields. */
export const log = {
  debug: (msg: string, fields?: Record<string, unknown>): void => {
    if (debugEnabled) write('debug', msg, fields);
  },
  info: (msg: string, fields?: Record<string, unknown>): void => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>): void => write('warning', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>): void => write('error', msg, fields),
};
