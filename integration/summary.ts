// The `make test` reporter: runs tap over test files, streams its TAP output through, and prints
// "N passed, N failed[, N skipped]" as the last line, optionally totalled across invocations.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** Totals counts test points: per test file, the points at its top level. */
export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

/** Options are the parsed command-line options of summary.js. */
export interface Options {
  jobs: number;
  timeout?: number;
  accumulate?: string;
  final: boolean;
  files: string[];
}

const USAGE = 'usage: node summary.js [--jobs N] [--timeout SECONDS] [--accumulate FILE [--final]] test-file...';

/** parseArgs parses argv (without node and the script); it throws on a bad option. */
export function parseArgs(argv: string[]): Options {
  const opts: Options = { jobs: 1, final: false, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new Error(`${name} needs a value\n${USAGE}`);
      return argv[++i];
    };
    switch (name) {
      case '--jobs':
      case '-j':
        opts.jobs = Number(value());
        if (!Number.isInteger(opts.jobs) || opts.jobs < 1) throw new Error(`--jobs wants a positive integer\n${USAGE}`);
        break;
      case '--timeout':
        opts.timeout = Number(value());
        if (!Number.isFinite(opts.timeout) || opts.timeout < 0) throw new Error(`--timeout wants seconds\n${USAGE}`);
        break;
      case '--accumulate':
        opts.accumulate = value();
        break;
      case '--final':
        opts.final = true;
        break;
      case '--help':
      case '-h':
        throw new Error(USAGE);
      default:
        if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
        opts.files.push(a);
    }
  }
  if (opts.final && !opts.accumulate) throw new Error(`--final needs --accumulate\n${USAGE}`);
  return opts;
}

/** formatTotals renders the summary line: `N passed, N failed` plus `, N skipped` if any. */
export function formatTotals(t: Totals): string {
  return `${t.passed} passed, ${t.failed} failed${t.skipped > 0 ? `, ${t.skipped} skipped` : ''}`;
}

const POINT = /^(not ok|ok)\b(.*)$/;

/**
 * TapCounter counts a tap run's TAP stream line by line: test points one level below each
 * file's subtest are the unit; a file whose own point is `not ok` without any failing point
 * inside (a crash, a timeout before any test, a load error) counts as one failure.
 */
export class TapCounter {
  totals: Totals = { passed: 0, failed: 0, skipped: 0 };
  /** files counts the file-level test points seen (one per finished test file). */
  files = 0;
  private inYaml = false;
  private lastWasPoint = false;
  private fileFailed = 0;
  private filePoints = 0;

  /** line feeds one line of TAP (without its newline). */
  line(raw: string): void {
    const text = raw.replace(/\r$/, '');
    const trimmed = text.trim();
    if (this.inYaml) {
      if (trimmed === '...') this.inYaml = false;
      return;
    }
    if (trimmed === '---' && this.lastWasPoint) {
      this.inYaml = true;
      return;
    }
    if (trimmed !== '') this.lastWasPoint = false;
    if (/^\s*Bail out!/.test(text)) {
      this.totals.failed++;
      this.fileFailed++;
      return;
    }
    const indent = /^ */.exec(text)![0].length;
    if (indent % 4 !== 0) return;
    const m = POINT.exec(text.slice(indent));
    if (!m) return;
    this.lastWasPoint = true;
    const depth = indent / 4;
    const ok = m[1] === 'ok';
    const directive = /(?:^|[^\\])#\s*(skip|todo)\b/i.exec(m[2]);
    if (depth === 1) {
      this.filePoints++;
      if (directive) this.totals.skipped++;
      else if (ok) this.totals.passed++;
      else {
        this.totals.failed++;
        this.fileFailed++;
      }
    } else if (depth === 0) {
      this.files++;
      if (!ok && !directive && this.fileFailed === 0) this.totals.failed++;
      else if (directive && this.filePoints === 0) this.totals.skipped++;
      this.fileFailed = 0;
      this.filePoints = 0;
    }
  }
}

// Runs tap over `files`, teeing stdout through a TapCounter; resolves with counts and exit code.
function runTap(repo: string, opts: Options, files: string[]): Promise<{ counter: TapCounter; code: number }> {
  const tapBin = path.join(repo, 'node_modules', '.bin', 'tap');
  const args = ['--reporter=tap', '--disable-coverage', '--allow-empty-coverage', `--jobs=${opts.jobs}`];
  if (opts.timeout !== undefined) args.push(`--timeout=${opts.timeout}`);
  args.push(...files);
  const counter = new TapCounter();
  return new Promise((resolve) => {
    const child = spawn(tapBin, args, { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
    let pending = '';
    let endedWithNewline = true;
    child.stdout!.on('data', (b: Buffer) => {
      process.stdout.write(b);
      const s = b.toString('utf8');
      endedWithNewline = s.endsWith('\n');
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) counter.line(l);
    });
    const done = (code: number): void => {
      if (pending !== '') counter.line(pending);
      if (!endedWithNewline) process.stdout.write('\n');
      resolve({ counter, code });
    };
    child.on('error', (err) => {
      process.stderr.write(`summary: running ${tapBin}: ${err.message}\n`);
      done(127);
    });
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

// Finds the repository root (holding node_modules/.bin/tap) above this file.
function repoDir(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'node_modules', '.bin', 'tap'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

function readTotals(file: string): Totals {
  try {
    const t = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Totals>;
    return { passed: t.passed ?? 0, failed: t.failed ?? 0, skipped: t.skipped ?? 0 };
  } catch {
    return { passed: 0, failed: 0, skipped: 0 };
  }
}

function add(a: Totals, b: Totals): Totals {
  return { passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped };
}

/** main runs one invocation and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const repo = repoDir();
  let run: Totals = { passed: 0, failed: 0, skipped: 0 };
  const present: string[] = [];
  for (const f of opts.files) {
    if (fs.existsSync(f)) present.push(path.resolve(f));
    else {
      process.stderr.write(`summary: test file ${f} does not exist\n`);
      run.failed++;
    }
  }
  // With no files tap would go looking for tests by itself: never run it empty.
  if (present.length > 0) {
    const { counter, code } = await runTap(repo, opts, present);
    run = add(run, counter.totals);
    if (counter.files < present.length) {
      const missing = present.length - counter.files;
      process.stderr.write(`summary: ${missing} test file(s) reported no result (tap exited ${code})\n`);
      run.failed += missing;
    } else if (code !== 0 && run.failed === 0) {
      process.stderr.write(`summary: tap exited ${code} although no test failed\n`);
      run.failed++;
    }
  }
  let shown = run;
  if (opts.accumulate) {
    const total = add(readTotals(opts.accumulate), run);
    fs.mkdirSync(path.dirname(path.resolve(opts.accumulate)), { recursive: true });
    fs.writeFileSync(opts.accumulate, JSON.stringify(total) + '\n');
    if (opts.final) shown = total;
  }
  process.stdout.write(`${formatTotals(shown)}\n`);
  return shown.failed > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`summary: ${err.stack ?? err.message}\n`);
      process.stdout.write(`0 passed, 1 failed\n`);
      process.exitCode = 1;
    },
  );
}
