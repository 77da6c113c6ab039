// Parses the command line containerd gives a shim: Go `flag` syntax, then an optional action word.

/** ShimFlags are the flags containerd 1.6–2.x passes to a shim binary. */
export interface ShimFlags {
  namespace: string;
  id: string;
  address: string;
  publishBinary: string;
  bundle: string;
  socket: string;
  debug: boolean;
  version: boolean;
  info: boolean;
  action: '' | 'start' | 'delete' | string;
}

const booleans = new Set(['debug', 'v', 'version', 'info']);

/** parseFlags accepts `-flag value`, `-flag=value`, `--flag value`; booleans take no value. */
export function parseFlags(argv: string[]): ShimFlags {
  const flags: ShimFlags = {
    namespace: '',
    id: '',
    address: '',
    publishBinary: '',
    bundle: '',
    socket: '',
    debug: false,
    version: false,
    info: false,
    action: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg === '-' || arg === '--') {
      if (!flags.action) flags.action = arg;
      continue;
    }
    let name = arg.replace(/^--?/, '');
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (booleans.has(name)) {
      const on = value === undefined || value === 'true' || value === '1';
      if (name === 'debug') flags.debug = on;
      else if (name === 'info') flags.info = on;
      else flags.version = on;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new Error(`flag needs an argument: -${name}`);
      value = argv[++i];
    }
    switch (name) {
      case 'namespace':
        flags.namespace = value;
        break;
      case 'id':
        flags.id = value;
        break;
      case 'address':
        flags.address = value;
        break;
      case 'publish-binary':
        flags.publishBinary = value;
        break;
      case 'bundle':
        flags.bundle = value;
        break;
      case 'socket':
        flags.socket = value;
        break;
      default:
        // Flags of later containerd versions that we do not use are accepted and ignored.
        break;
    }
  }
  return flags;
}
