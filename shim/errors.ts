// Typed error kinds of the shim, and the ONE place that turns any error into a ttrpc status.
import { Code, TtrpcError } from './ttrpc';

/** ErrorKind names the class of a failure; each maps to one gRPC code containerd understands. */
export type ErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'InvalidArgument'
  | 'Unimplemented'
  | 'Unavailable'
  | 'Internal';

/** ShimError is an error with a kind; its message reads "operation object: cause". */
export class ShimError extends Error {
  constructor(readonly kind: ErrorKind, message: string) {
    super(message);
    this.name = 'ShimError';
  }
}

/** notFound builds a NotFound ShimError. */
export const notFound = (msg: string): ShimError => new ShimError('NotFound', msg);
/** alreadyExists builds an AlreadyExists ShimError. */
export const alreadyExists = (msg: string): ShimError => new ShimError('AlreadyExists', msg);
/** failedPrecondition builds a FailedPrecondition ShimError. */
export const failedPrecondition = (msg: string): ShimError => new ShimError('FailedPrecondition', msg);
/** invalidArgument builds an InvalidArgument ShimError. */
export const invalidArgument = (msg: string): ShimError => new ShimError('InvalidArgument', msg);
/** unimplemented builds an Unimplemented ShimError. */
export const unimplemented = (msg: string): ShimError => new ShimError('Unimplemented', msg);

const kindCodes: Record<ErrorKind, Code> = {
  NotFound: Code.NOT_FOUND,
  AlreadyExists: Code.ALREADY_EXISTS,
  FailedPrecondition: Code.FAILED_PRECONDITION,
  InvalidArgument: Code.INVALID_ARGUMENT,
  Unimplemented: Code.UNIMPLEMENTED,
  Unavailable: Code.UNAVAILABLE,
  Internal: Code.INTERNAL,
};

/** toTtrpcError converts any thrown value into a TtrpcError (default UNKNOWN), keeping the message. */
export function toTtrpcError(err: unknown): TtrpcError {
  if (err instanceof TtrpcError) return err;
  if (err instanceof ShimError) return new TtrpcError(kindCodes[err.kind], err.message);
  const message = err instanceof Error ? err.message : String(err);
  return new TtrpcError(Code.UNKNOWN, message);
}

/** wrap prefixes an error's message with the operation that failed, keeping its kind or code. */
export function wrap(err: unknown, operation: string): Error {
  const message = `${operation}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof ShimError) return new ShimError(err.kind, message);
  if (err instanceof TtrpcError) return new TtrpcError(err.code, message);
  return new Error(message);
}

/** errnoMessage renders a Node system error the way Go does ("no such file or directory"). */
export function errnoMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EEXIST: 'file exists',
    ENOTDIR: 'not a directory',
    EISDIR: 'is a directory',
    EINVAL: 'invalid argument',
    EBUSY: 'device or resource busy',
    ENXIO: 'no such device or address',
  };
  if (e && typeof e.code === 'string' && text[e.code]) return text[e.code];
  return e instanceof Error ? e.message : String(err);
}
