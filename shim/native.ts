// Loads the runsc_ts_native addon (built by node-gyp) with its typed surface. The compiled shim
// lives in <root>/js/shim/ and the addon in <root>/Release/, both in the build tree and installed.
import type * as Native from '../sentry-native/addon/native';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const bindings = require('bindings') as (opts: { bindings: string; module_root: string }) => typeof Native;

/** native is the addon: socketpair, sendmsg with fds, mount/umount, subreaper. */
export const native: typeof Native = bindings({
  bindings: 'runsc_ts_native',
  module_root: require('path').resolve(__dirname, '..', '..'),
});
