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
