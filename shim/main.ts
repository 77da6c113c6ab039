// The TypeScript shim's entry, run by the native launcher (containerd-shim-runsc-ts-v1), which
// handles `delete` itself: dispatches start, serve and zygote.
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
      const address = await start(flags, path.join(__dirname, 'main.js'));
      process.stdout.write(address, () => process.exit(0));
      return;
    }
    case 'zygote': {
      const { runZygote } = await import('./bootstrap/zygote');
      await runZygote(flags);
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
