// containerd-shim-runsc-ts-v1: the entry point; dispatches containerd's start / delete / serve.
import * as fs from 'fs';
import * as path from 'path';
import { parseFlags } from './bootstrap/flags';

// The package.json sits two levels up when installed (lib/runsc-ts/) and three in the build tree.
function packageVersion(): string {
  for (const up of [['..', '..'], ['..', '..', '..']]) {
    try {
      return JSON.parse(fs.readFileSync(path.resolve(__dirname, ...up, 'package.json'), 'utf8')).version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.version) {
    process.stdout.write(`containerd-shim-runsc-ts-v1\n  Version: ${packageVersion()}\n`);
    return;
  }
  switch (flags.action) {
    case 'start': {
      const { start } = await import('./bootstrap/start');
      // The serving copy runs the same entry (the installed wrapper), so ps shows it by name.
      const address = await start(flags, process.argv[1] || path.join(__dirname, 'main.js'));
      process.stdout.write(address, () => process.exit(0));
      return;
    }
    case 'delete': {
      const { deleteAction } = await import('./bootstrap/delete');
      const out = await deleteAction(flags);
      process.stdout.write(out, () => process.exit(0));
      return;
    }
    case '': {
      const { serve } = await import('./bootstrap/serve');
      await serve(flags);
      return;
    }
    default:
      throw new Error(`unknown action "${flags.action}"`);
  }
}

main().catch((err) => {
  process.stderr.write(`containerd-shim-runsc-ts-v1: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
