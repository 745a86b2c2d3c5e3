import { SyncError, type ErrorCode } from '../protocol/index.js';

/** An answer from the server that is an error: its stable code, HTTP status and whether a retry may help. */
export class SyncHttpError extends SyncError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly httpStatus: number,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details ? { details } : {});
    this.name = 'SyncHttpError';
  }

  /** 5xx, 429 and 408 may succeed later; other 4xx will not. */
  get transient(): boolean {
    return this.httpStatus >= 500 || this.httpStatus === 429 || this.httpStatus === 408;
  }
}

/** The server could not be reached, or did not answer in time. */
export class NetworkError extends Error {
  readonly transient = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

export function isTransient(err: unknown): boolean {
  return err instanceof NetworkError || (err instanceof SyncHttpError && err.transient);
}
