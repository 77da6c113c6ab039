// Adds (or removes) the runsc-ts CRI runtime handler in containerd's config.toml, idempotently:
// the handler lives in one marked block that `make install` writes and `make uninstall` removes.
import * as fs from 'fs';

const BEGIN = '# BEGIN runsc-ts runtime handler (managed by `make install`; `make uninstall` removes it)';
const END = '# END runsc-ts runtime handler';

/** SANDBOX_CONFIG is where the handler's options point: the sandbox flags (deploy/runsc-ts.toml). */
export const SANDBOX_CONFIG = '/etc/containerd/runsc-ts.toml';

/** HANDLER_BLOCK is the config that makes CRI's handler "runsc-ts" use our shim. */
export const HANDLER_BLOCK = [
  BEGIN,
  '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc-ts]',
  '  runtime_type = "io.containerd.runsc-ts.v1"',
  '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc-ts.options]',
  '    TypeUrl = "io.containerd.runsc-ts.v1.options"',
  `    ConfigPath = "${SANDBOX_CONFIG}"`,
  END,
].join('\n');

function stripBlock(text: string): string {
  const start = text.indexOf(BEGIN);
  if (start < 0) return text;
  const end = text.indexOf(END, start);
  if (end < 0) throw new Error(`found "${BEGIN}" without its end marker; fix the file by hand`);
  const before = text.slice(0, start).replace(/\n+$/, '\n');
  const after = text.slice(end + END.length).replace(/^\n+/, '');
  return (before + after).replace(/^\n+/, '');
}

/** addHandler returns config text with the handler block (once); the text must be config version 2. */
export function addHandler(text: string): string {
  const rest = stripBlock(text);
  const version = /^\s*version\s*=\s*(\d+)/m.exec(rest);
  if (version && version[1] !== '2') {
    throw new Error(`containerd config version ${version[1]}: only version 2 (containerd 1.6/1.7) is handled; add the runtime by hand`);
  }
  if (/\.containerd\.runtimes\.runsc-ts\]/.test(rest)) {
    throw new Error('containerd config already defines a runsc-ts runtime outside the managed block; leaving it alone');
  }
  const head = version ? rest : `version = 2\n${rest}`;
  return `${head.replace(/\n*$/, '\n')}\n${HANDLER_BLOCK}\n`;
}

/** removeHandler returns config text without the handler block. */
export function removeHandler(text: string): string {
  return stripBlock(text);
}

function main(argv: string[]): void {
  const [action, file] = argv;
  if ((action !== 'add' && action !== 'remove') || !file) {
    throw new Error('usage: containerd-config.js add|remove CONFIG_TOML');
  }
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (action === 'remove' && old === '') return;
  const next = action === 'add' ? addHandler(old) : removeHandler(old);
  if (next === old) {
    console.log(`${file}: unchanged`);
    return;
  }
  const tmp = `${file}.runsc-ts.tmp`;
  fs.writeFileSync(tmp, next, { mode: fs.existsSync(file) ? fs.statSync(file).mode & 0o7777 : 0o644 });
  fs.renameSync(tmp, file);
  console.log(`${file}: runsc-ts handler ${action === 'add' ? 'added' : 'removed'}; restart containerd to apply`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`containerd-config: ${(err as Error).message}`);
    process.exit(1);
  }
}
