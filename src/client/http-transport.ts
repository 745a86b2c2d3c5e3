import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { errorCodes, protocolVersion, type ErrorCode } from '../protocol/index.js';
import { isTransient, NetworkError, SyncHttpError } from './sync-http-error.js';

export type RetryOptions = {
  /** Total tries, the first included (seed 003: 3). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
};

export type TransportOptions = {
  serverUrl: string;
  token: string;
  timeoutMs: number;
  retry: RetryOptions;
  /** Called before each retry with the attempt number and the error. */
  onRetry?: (attempt: number, error: unknown) => void;
};

/**
 * JSON over HTTP to the sync server. Network errors, timeouts, 5xx and 429 are
 * retried with exponential backoff and decorrelated jitter (cockatiel); other
 * 4xx answers are never retried, they throw a SyncHttpError with the server's code.
 */
export class HttpTransport {
  private readonly policy: RetryPolicy;
  /** The server's epoch (`x-pdv-sync-epoch`) on its latest answer; null until a server sends one. */
  lastEpoch: string | null = null;

  /**
   * What the answers may be compressed with. A server on this machine (a store's own server,
   * a test) is reached over loopback, where gzip only costs CPU at both ends: the first sync
   * of a catalogue spent a fifth of its time deflating and inflating pages.
   */
  private readonly acceptEncoding: string;

  constructor(private readonly options: TransportOptions) {
    this.acceptEncoding = isLoopback(options.serverUrl) ? 'identity' : 'gzip';
    this.policy = retry(handleWhen(isTransient), {
      maxAttempts: Math.max(0, options.retry.attempts - 1),
      backoff: new ExponentialBackoff({
        initialDelay: options.retry.baseDelayMs,
        maxDelay: options.retry.maxDelayMs,
      }),
    });
    if (options.onRetry) {
      const onRetry = options.onRetry;
      this.policy.onRetry((e) => onRetry(e.attempt, 'error' in e ? e.error : undefined));
    }
  }

  get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const qs = new URLSearchParams(
      Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const suffix = qs.size > 0 ? `?${qs.toString()}` : '';
    return this.policy.execute(() => this.once<T>('GET', `${path}${suffix}`));
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.policy.execute(() => this.once<T>('POST', path, body));
  }

  private async once<T>(method: string, path: string, body?: unknown): Promise<T> {
    // One timer for the request and the body read, held until both are done. Not
    // AbortSignal.timeout: its timer can be collected with the signal, and then a body
    // whose connection was cut without an error is awaited forever (seen in the
    // crash-recovery test: no socket, no timer, a sync that never settled).
    // And the timer settles the request itself: an abort that the HTTP client fails to turn
    // into a rejection (seen again: no socket, no timer, a sync awaiting forever) still ends it.
    const controller = new AbortController();
    let expire: (err: Error) => void = () => undefined;
    const expired = new Promise<never>((_, reject) => (expire = reject));
    expired.catch(() => undefined);
    const timer = setTimeout(() => {
      const err = new Error(`timed out after ${this.options.timeoutMs} ms`);
      controller.abort(err);
      expire(err);
    }, this.options.timeoutMs);
    /** The operation, or the timeout's error, whichever comes first; a late loser is ignored. */
    const bounded = <R>(operation: Promise<R>): Promise<R> => {
      operation.catch(() => undefined);
      return Promise.race([operation, expired]);
    };
    let res: Response;
    let text: string;
    try {
      try {
        res = await bounded(
          fetch(`${this.options.serverUrl.replace(/\/$/, '')}${path}`, {
            method,
            headers: {
              'x-api-key': this.options.token,
              'accept-encoding': this.acceptEncoding,
              // Protocol 4+: decimals (money) are read as exact canonical text.
              'x-pdv-sync-protocol': String(protocolVersion),
              ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            },
            ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
            signal: controller.signal,
          }),
        );
      } catch (err) {
        throw new NetworkError(`${method} ${path}: ${(err as Error).message}`, { cause: err });
      }
      const epoch = res.headers.get('x-pdv-sync-epoch');
      if (epoch) this.lastEpoch = epoch;
      try {
        text = await bounded(res.text());
      } catch (err) {
        throw new NetworkError(`${method} ${path}: response cut: ${(err as Error).message}`, {
          cause: err,
        });
      }
    } finally {
      clearTimeout(timer);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      if (res.ok || res.status >= 500)
        throw new NetworkError(`${method} ${path}: unreadable answer (${res.status})`);
      json = null;
    }
    if (!res.ok) {
      const err = json as {
        code?: string;
        message?: string;
        details?: Record<string, unknown>;
      } | null;
      const code = (errorCodes as string[]).includes(err?.code ?? '')
        ? (err?.code as ErrorCode)
        : 'INTERNAL';
      throw new SyncHttpError(code, err?.message ?? `HTTP ${res.status}`, res.status, err?.details);
    }
    return json as T;
  }
}

/** Whether a URL names this machine (localhost, 127.0.0.0/8, ::1). */
export function isLoopback(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127(\.\d{1,3}){3}$/.test(host) ||
    host === '[::1]'
  );
}
