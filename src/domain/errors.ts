// One error type for everything a user or operator can cause: a stable code for scripts, a
// Chinese message for people, and optional details (ids, JSON paths, file names) for operators.

export class WeipianError extends Error {
  readonly code: string;
  readonly details?: unknown;
  /** HTTP status when the error crosses the API. */
  readonly status: number;

  constructor(code: string, message: string, details?: unknown, status = 400) {
    super(message);
    this.name = 'WeipianError';
    this.code = code;
    this.details = details;
    this.status = status;
  }
}

export function isWeipianError(e: unknown): e is WeipianError {
  return e instanceof WeipianError;
}
