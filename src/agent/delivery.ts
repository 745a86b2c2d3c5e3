import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { epochHeader, epochResponseSchema, type EpochResponse } from '../protocol/index.js';

export type DeliveryOptions = {
  url: string;
  token: string;
  timeoutMs: number;
  /** Extra tries inside one delivery for 5xx, 408, 429, timeouts and network errors. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Send the outbox's gzip bytes with `Content-Encoding: gzip` (the pdv-sync server accepts it). */
  gzip?: boolean;
};

/** One payload as it leaves: its JSON text and the same bytes gzip-compressed (the outbox file). */
export type DeliveryBody = { json: string; gzip?: Buffer };

/**
 * How one delivery ended:
 * - `delivered`: 2xx; the payload may leave the outbox.
 * - `refused`: 4xx other than 401, 403, 408, 429; sending it again would not help (dead letter).
 * - `unauthorized`: 401/403: the token is wrong or revoked, which says nothing about the
 *   payload; it stays in the outbox until the token is fixed.
 * - `failed`: 5xx, 408, 429 or a timeout; counts toward the attempt limit.
 * - `unreachable`: no answer at all (refused connection, DNS, reset): the network is down,
 *   which says nothing about this file, so it does not count toward the limit.
 */
export type DeliveryResult =
  | {
      kind: 'delivered';
      status: number;
      body: string;
      date: string | null;
      /** The pdv-sync server's epoch (`x-pdv-sync-epoch`); null from another webhook. */
      epoch?: string | null;
    }
  | { kind: 'refused'; status: number; body: string; date: string | null }
  | { kind: 'unauthorized'; status: number; body: string; date: string | null }
  | { kind: 'failed'; status: number | null; error: string }
  | { kind: 'unreachable'; error: string };

class TransientAnswer extends Error {
  constructor(readonly result: Extract<DeliveryResult, { kind: 'failed' | 'unreachable' }>) {
    super(result.error);
  }
}

const bodyExcerpt = (text: string): string =>
  text.length > 2000 ? `${text.slice(0, 2000)}…` : text;

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ? `${err.message} (${cause.code})` : err.message;
  }
  return String(err);
}

/**
 * HTTPS POST of one payload with `Authorization: Bearer API_TOKEN`, a timeout
 * per try and, inside one delivery, retries with exponential backoff and
 * decorrelated jitter (cockatiel) on 5xx, 408, 429, timeouts and network errors.
 * The token never appears in a result or a log line.
 */
export class Delivery {
  private readonly policy: RetryPolicy;

  constructor(private readonly options: DeliveryOptions) {
    this.policy = retry(
      handleWhen((err) => err instanceof TransientAnswer),
      {
        maxAttempts: options.retries,
        backoff: new ExponentialBackoff({
          initialDelay: options.baseDelayMs,
          maxDelay: options.maxDelayMs,
        }),
      },
    );
  }

  /** One POST, no retry: what the doctor uses too. */
  async post(body: string | DeliveryBody, syncId?: string): Promise<DeliveryResult> {
    const b = typeof body === 'string' ? { json: body } : body;
    const gzipBody = this.options.gzip === true ? b.gzip : undefined;
    const gzipped = gzipBody !== undefined;
    // One timer held for the request and the body read (AbortSignal.timeout's timer can be
    // collected with its signal, leaving a cut body awaited forever).
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException('timed out', 'TimeoutError')),
      this.options.timeoutMs,
    );
    try {
      return await this.exchange(controller.signal, gzipped, gzipBody, b.json, syncId);
    } finally {
      clearTimeout(timer);
    }
  }

  private async exchange(
    signal: AbortSignal,
    gzipped: boolean,
    gzipBody: Buffer | undefined,
    json: string,
    syncId: string | undefined,
  ): Promise<DeliveryResult> {
    let res: Response;
    try {
      res = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
          authorization: `Bearer ${this.options.token}`,
          'user-agent': 'pdv-sync-agent',
          ...(syncId ? { 'idempotency-key': syncId } : {}),
        },
        body: gzipBody ?? json,
        signal,
      });
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (name === 'TimeoutError' || name === 'AbortError')
        return {
          kind: 'failed',
          status: null,
          error: `timeout after ${this.options.timeoutMs} ms`,
        };
      return { kind: 'unreachable', error: errorText(err) };
    }
    let text = '';
    try {
      text = await res.text();
    } catch (err) {
      if (res.ok) text = '';
      else return { kind: 'failed', status: res.status, error: errorText(err) };
    }
    if (res.status >= 200 && res.status < 300)
      return {
        kind: 'delivered',
        status: res.status,
        body: bodyExcerpt(text),
        date: res.headers.get('date'),
        epoch: res.headers.get(epochHeader),
      };
    if (res.status === 401 || res.status === 403)
      return {
        kind: 'unauthorized',
        status: res.status,
        body: bodyExcerpt(text),
        date: res.headers.get('date'),
      };
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
      return {
        kind: 'refused',
        status: res.status,
        body: bodyExcerpt(text),
        date: res.headers.get('date'),
      };
    return {
      kind: 'failed',
      status: res.status,
      error: `HTTP ${res.status}: ${bodyExcerpt(text)}`,
    };
  }

  /**
   * `GET /api/sync/epoch` beside the webhook (same server, same token): what a
   * restored server says about the backup it came from. Throws when unreachable.
   */
  async epoch(): Promise<EpochResponse> {
    const res = await fetch(new URL('/api/sync/epoch', this.options.url), {
      headers: { authorization: `Bearer ${this.options.token}`, 'user-agent': 'pdv-sync-agent' },
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET /api/sync/epoch: HTTP ${res.status}`);
    return epochResponseSchema.parse(JSON.parse(text));
  }

  /** POST with retries; resolves with the last outcome (never rejects). */
  async send(body: string | DeliveryBody, syncId: string): Promise<DeliveryResult> {
    try {
      return await this.policy.execute(async () => {
        const result = await this.post(body, syncId);
        if (result.kind === 'failed' || result.kind === 'unreachable')
          throw new TransientAnswer(result);
        return result;
      });
    } catch (err) {
      if (err instanceof TransientAnswer) return err.result;
      return { kind: 'unreachable', error: errorText(err) };
    }
  }
}
