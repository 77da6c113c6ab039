// errors.ts: the ttrpc status codes, the error that carries one, and the one place
// where any thrown value is turned into a status for the wire.

/** Code is a google.rpc.Code value carried in a ttrpc Response status. */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** TtrpcError is an error with a status code; handlers throw it to choose the code sent back. */
export class TtrpcError extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TtrpcError';
    this.code = code;
  }
}

/** isTtrpcError reports whether err is a TtrpcError. */
export function isTtrpcError(err: unknown): err is TtrpcError {
  return err instanceof TtrpcError;
}

/** toStatus converts any thrown value to a status: a TtrpcError keeps its code, anything else is UNKNOWN. */
export function toStatus(err: unknown): { code: Code; message: string } {
  if (err instanceof TtrpcError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: Code.UNKNOWN, message: err.message };
  return { code: Code.UNKNOWN, message: String(err) };
}

/** messageTooLarge builds the RESOURCE_EXHAUSTED error ttrpc uses for a frame over the size cap. */
export function messageTooLarge(length: number, max: number): TtrpcError {
  return new TtrpcError(
    Code.RESOURCE_EXHAUSTED,
    `message length ${length} exceed maximum message size of ${max}`,
  );
}
