// The whole surface of the runsc_ts_native addon, typed. Errors carry code/errno/syscall like Node's.

/** socketPair returns two connected AF_UNIX stream sockets, both close-on-exec. */
export function socketPair(): [number, number];
/** sendFrame writes the whole buffer to a socket, with fds attached as SCM_RIGHTS to its first byte. */
export function sendFrame(fd: number, frame: Buffer, fds?: number[]): void;
/** mount is mount(2). */
export function mount(source: string, target: string, fstype: string, flags: number, data: string): void;
/** umount is umount2(2). */
export function umount(target: string, flags?: number): void;
/** setChildSubreaper is prctl(PR_SET_CHILD_SUBREAPER, 1). */
export function setChildSubreaper(): void;
/**
 * reclaimMemory runs V8's low-memory collection (shrinks the young generation, releases pooled
 * pages) and glibc's malloc_trim. Blocks for a few milliseconds: call it when idle.
 */
export function reclaimMemory(): void;
/** listenUnix binds and listens on a unix socket path; returns the fd (for net.Server.listen({ fd })). */
export function listenUnix(path: string): number;
/**
 * forkShim forks this warm shim (started with V8's --single-threaded) into a detached copy that
 * shares its memory copy-on-write. Returns the copy's pid, and child: true in the copy. The copy
 * must end with exitNow.
 */
export function forkShim(): { pid: number; child: boolean };
/** exitNow is _exit(2): no exit handlers, no waiting for threads. */
export function exitNow(code: number): never;
