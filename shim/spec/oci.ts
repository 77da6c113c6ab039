// The parts of the OCI runtime spec (config.json) that runsc-ts reads, as TypeScript types.

/** OciUser is process.user. */
export interface OciUser {
  uid?: number;
  gid?: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

/** OciProcess is the spec's process (also the JSON of an exec's process spec). */
export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height?: number; width?: number };
  user?: OciUser;
  args?: string[];
  env?: string[];
  cwd?: string;
  capabilities?: {
    bounding?: string[];
    effective?: string[];
    inheritable?: string[];
    permitted?: string[];
    ambient?: string[];
  };
  rlimits?: { type: string; soft: number; hard: number }[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}

/** OciMount is one entry of mounts. */
export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** OciSeccomp is linux.seccomp. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  syscalls?: {
    names: string[];
    action: string;
    errnoRet?: number;
    args?: { index: number; value: number; valueTwo?: number; op: string }[];
  }[];
}

/** OciSpec is config.json. */
export interface OciSpec {
  ociVersion?: string;
  process?: OciProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: OciMount[];
  annotations?: Record<string, string>;
  linux?: {
    namespaces?: { type: string; path?: string }[];
    devices?: { path: string; type: string; major?: number; minor?: number; fileMode?: number; uid?: number; gid?: number }[];
    cgroupsPath?: string;
    resources?: unknown;
    sysctl?: Record<string, string>;
    seccomp?: OciSeccomp;
    rootfsPropagation?: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    uidMappings?: unknown[];
  };
}
