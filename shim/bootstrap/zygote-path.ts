// Where the warm shims of a containerd listen; shared by the zygote, its users and the tests
// (the native launcher computes the same names).
import * as path from 'path';

/** SHIM_SOCKET_DIR holds shim sockets; containerd 1.6's shims hard-code it too. */
export const SHIM_SOCKET_DIR = '/run/containerd/s';
/** ZYGOTE_SLOTS is how many warm shims wait per containerd: one, since a zygote forks and stays. */
export const ZYGOTE_SLOTS = 1;

/** zygotePath is the socket of a zygote slot for a containerd (FNV-1a 64 of its address, as the launcher). */
export function zygotePath(grpcAddress: string, slot: number): string {
  let h = 0xcbf29ce484222325n;
  for (const c of Buffer.from(grpcAddress, 'utf8')) {
    h ^= BigInt(c);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return path.join(SHIM_SOCKET_DIR, `runsc-ts-zygote-${h.toString(16).padStart(16, '0')}-${slot}`);
}
