// A small CRI v1 client for the integration tests: typed calls to containerd's RuntimeService and
// ImageService over its gRPC socket, each with a deadline, failing with the method and gRPC status.
import * as grpc from '@grpc/grpc-js';
import { runtime } from './gen/cri';
import v1 = runtime.v1;

export { runtime };

/** DEFAULT_CRI_TIMEOUT_MS bounds every call that does not pass its own timeout. */
export const DEFAULT_CRI_TIMEOUT_MS = 60_000;

/** CriError is a failed CRI call: which method, the gRPC status code and the server's details. */
export class CriError extends Error {
  readonly method: string;
  readonly code: grpc.status;
  readonly details: string;

  constructor(method: string, code: grpc.status, details: string) {
    super(`CRI ${method}: ${grpc.status[code] ?? code}: ${details}`);
    this.name = 'CriError';
    this.method = method;
    this.code = code;
    this.details = details;
  }
}

/** isNotFound reports whether `err` is a CRI call that failed with NOT_FOUND. */
export function isNotFound(err: unknown): boolean {
  return err instanceof CriError && err.code === grpc.status.NOT_FOUND;
}

// The static encoder and decoder pbjs generates for each message type.
interface Encoder<T> {
  encode(m: T): { finish(): Uint8Array };
}
interface Decoder<T> {
  decode(b: Uint8Array): T;
}

/** CriClientOptions tunes a client: the default deadline of each call. */
export interface CriClientOptions {
  timeoutMs?: number;
}

/** CriClient talks CRI v1 to the containerd listening on a unix socket. */
export class CriClient {
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;

  /** socketPath is containerd's gRPC socket (the CRI plugin serves on it). */
  constructor(socketPath: string, opts: CriClientOptions = {}) {
    this.client = new grpc.Client('unix://' + socketPath, grpc.credentials.createInsecure());
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_CRI_TIMEOUT_MS;
  }

  /** close ends the connection; calls made afterwards fail. */
  close(): void {
    this.client.close();
  }

  // Makes one unary call to /runtime.v1.<service>/<method> with a deadline.
  private call<Req, Res>(
    service: 'RuntimeService' | 'ImageService',
    method: string,
    reqType: Encoder<Req>,
    resType: Decoder<Res>,
    req: Req,
    timeoutMs?: number,
  ): Promise<Res> {
    const ms = timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `/runtime.v1.${service}/${method}`,
        (m: Req) => Buffer.from(reqType.encode(m).finish()),
        (b: Buffer) => resType.decode(b),
        req,
        new grpc.Metadata(),
        { deadline: new Date(Date.now() + ms) },
        (err: grpc.ServiceError | null, res?: Res) => {
          if (err) reject(new CriError(method, err.code, err.details || err.message));
          else if (res === undefined) reject(new CriError(method, grpc.status.INTERNAL, 'empty response'));
          else resolve(res);
        },
      );
    });
  }

  /** version asks for the runtime's name and versions. */
  version(timeoutMs?: number): Promise<v1.VersionResponse> {
    return this.call('RuntimeService', 'Version', v1.VersionRequest, v1.VersionResponse, { version: 'v1' }, timeoutMs);
  }

  /** status returns the runtime conditions (RuntimeReady, NetworkReady). */
  status(verbose = false, timeoutMs?: number): Promise<v1.StatusResponse> {
    return this.call('RuntimeService', 'Status', v1.StatusRequest, v1.StatusResponse, { verbose }, timeoutMs);
  }

  /** runPodSandbox creates and starts a pod sandbox with `handler` and returns its id. */
  async runPodSandbox(config: v1.IPodSandboxConfig, handler: string, timeoutMs?: number): Promise<string> {
    const req: v1.IRunPodSandboxRequest = { config, runtimeHandler: handler };
    const res = await this.call('RuntimeService', 'RunPodSandbox', v1.RunPodSandboxRequest, v1.RunPodSandboxResponse, req, timeoutMs);
    return res.podSandboxId;
  }

  /** stopPodSandbox stops every container of the pod and the sandbox; idempotent. */
  async stopPodSandbox(podSandboxId: string, timeoutMs?: number): Promise<void> {
    await this.call('RuntimeService', 'StopPodSandbox', v1.StopPodSandboxRequest, v1.StopPodSandboxResponse, { podSandboxId }, timeoutMs);
  }

  /** removePodSandbox removes the pod and its containers; removing a removed pod is no error. */
  async removePodSandbox(podSandboxId: string, timeoutMs?: number): Promise<void> {
    await this.call('RuntimeService', 'RemovePodSandbox', v1.RemovePodSandboxRequest, v1.RemovePodSandboxResponse, { podSandboxId }, timeoutMs);
  }

  /** podSandboxStatus returns the pod's status (and with `verbose` the runtime's info JSON). */
  podSandboxStatus(podSandboxId: string, verbose = false, timeoutMs?: number): Promise<v1.PodSandboxStatusResponse> {
    const req: v1.IPodSandboxStatusRequest = { podSandboxId, verbose };
    return this.call('RuntimeService', 'PodSandboxStatus', v1.PodSandboxStatusRequest, v1.PodSandboxStatusResponse, req, timeoutMs);
  }

  /** listPodSandbox lists pods matching `filter`. */
  listPodSandbox(filter: v1.IPodSandboxFilter, timeoutMs?: number): Promise<v1.ListPodSandboxResponse> {
    return this.call('RuntimeService', 'ListPodSandbox', v1.ListPodSandboxRequest, v1.ListPodSandboxResponse, { filter }, timeoutMs);
  }

  /** createContainer creates a container in a pod and returns its id. */
  async createContainer(
    podSandboxId: string,
    config: v1.IContainerConfig,
    sandboxConfig: v1.IPodSandboxConfig,
    timeoutMs?: number,
  ): Promise<string> {
    const req: v1.ICreateContainerRequest = { podSandboxId, config, sandboxConfig };
    const res = await this.call('RuntimeService', 'CreateContainer', v1.CreateContainerRequest, v1.CreateContainerResponse, req, timeoutMs);
    return res.containerId;
  }

  /** startContainer starts a created container. */
  async startContainer(containerId: string, timeoutMs?: number): Promise<void> {
    await this.call('RuntimeService', 'StartContainer', v1.StartContainerRequest, v1.StartContainerResponse, { containerId }, timeoutMs);
  }

  /**
   * stopContainer signals the container (SIGTERM unless the image says otherwise) and kills it
   * after `timeoutSeconds`; the call's own deadline is that plus `timeoutMs` (default 60 s).
   */
  async stopContainer(containerId: string, timeoutSeconds: number, timeoutMs?: number): Promise<void> {
    const req: v1.IStopContainerRequest = { containerId, timeout: timeoutSeconds };
    const ms = timeoutSeconds * 1000 + (timeoutMs ?? this.timeoutMs);
    await this.call('RuntimeService', 'StopContainer', v1.StopContainerRequest, v1.StopContainerResponse, req, ms);
  }

  /** removeContainer removes a container (killing it if it runs); idempotent. */
  async removeContainer(containerId: string, timeoutMs?: number): Promise<void> {
    await this.call('RuntimeService', 'RemoveContainer', v1.RemoveContainerRequest, v1.RemoveContainerResponse, { containerId }, timeoutMs);
  }

  /** listContainers lists containers matching `filter` (e.g. a pod id). */
  listContainers(filter: v1.IContainerFilter, timeoutMs?: number): Promise<v1.ListContainersResponse> {
    return this.call('RuntimeService', 'ListContainers', v1.ListContainersRequest, v1.ListContainersResponse, { filter }, timeoutMs);
  }

  /** containerStatus returns a container's state, exit code and times (verbose: info JSON with pid and spec). */
  containerStatus(containerId: string, verbose = false, timeoutMs?: number): Promise<v1.ContainerStatusResponse> {
    const req: v1.IContainerStatusRequest = { containerId, verbose };
    return this.call('RuntimeService', 'ContainerStatus', v1.ContainerStatusRequest, v1.ContainerStatusResponse, req, timeoutMs);
  }

  /**
   * execSync runs `cmd` in a container and returns its output and exit code; the command is
   * stopped after `timeoutSeconds` (0: never), the call after that plus `timeoutMs`.
   */
  execSync(containerId: string, cmd: string[], timeoutSeconds = 30, timeoutMs?: number): Promise<v1.ExecSyncResponse> {
    const req: v1.IExecSyncRequest = { containerId, cmd, timeout: timeoutSeconds };
    const ms = timeoutSeconds * 1000 + (timeoutMs ?? this.timeoutMs);
    return this.call('RuntimeService', 'ExecSync', v1.ExecSyncRequest, v1.ExecSyncResponse, req, ms);
  }

  /** containerStats returns a container's CPU, memory and writable layer usage. */
  containerStats(containerId: string, timeoutMs?: number): Promise<v1.ContainerStatsResponse> {
    return this.call('RuntimeService', 'ContainerStats', v1.ContainerStatsRequest, v1.ContainerStatsResponse, { containerId }, timeoutMs);
  }

  /** listImages lists the images the CRI knows (those in the k8s.io namespace). */
  listImages(timeoutMs?: number): Promise<v1.ListImagesResponse> {
    return this.call('ImageService', 'ListImages', v1.ListImagesRequest, v1.ListImagesResponse, {}, timeoutMs);
  }

  /** imageStatus returns the image `ref` if the CRI knows it (no `image` field otherwise). */
  imageStatus(ref: string, timeoutMs?: number): Promise<v1.ImageStatusResponse> {
    return this.call('ImageService', 'ImageStatus', v1.ImageStatusRequest, v1.ImageStatusResponse, { image: { image: ref } }, timeoutMs);
  }
}
