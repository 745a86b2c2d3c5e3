import type { MutationResult, PushRequest, PushResponse } from '../protocol/push.js';
import type { SessionResponse } from '../protocol/terminal-status.js';

/** An HTTP call to the server failed: network down, or an error answer `{code, message}`. */
export class SyncRequestError extends Error {
  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** The server's error code (`UNAUTHORIZED`, `RATE_LIMITED`…), or `NETWORK`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SyncRequestError';
  }
}

/**
 * The server answered a write with `conflict` or `rejected`: nothing changed
 * locally. `code` is the server's reason (`SCOPE_VIOLATION`, `RECORD_INVALID`…,
 * or `CONFLICT`), `result` its whole answer (a conflict carries the server's row).
 */
export class WriteRejectedError extends Error {
  constructor(
    readonly status: 'conflict' | 'rejected',
    readonly code: string,
    message: string,
    readonly result: MutationResult,
  ) {
    super(message);
    this.name = 'WriteRejectedError';
  }
}

/**
 * A random UUID v4. `crypto.randomUUID` exists only in secure contexts (https,
 * localhost, Tauri); a page served over plain http on the LAN falls back to
 * `getRandomValues`, which every context has.
 */
export function newId(): string {
  if (typeof crypto.randomUUID === 'function' && globalThis.isSecureContext !== false)
    return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export type SyncApiOptions = {
  /** API base URL, e.g. `http://192.168.0.10:3001`. */
  serverUrl: string;
  /** Device token (or admin token), sent as `x-api-key`. */
  token: string;
};

/** The few REST calls the hooks make; every failure is a `SyncRequestError`. */
export class SyncApi {
  private session: Promise<SessionResponse> | null = null;

  constructor(private readonly options: SyncApiOptions) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.options.serverUrl.replace(/\/+$/, '')}${path}`, {
        method,
        headers: {
          'x-api-key': this.options.token,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new SyncRequestError(0, 'NETWORK', `server unreachable: ${String(err)}`);
    }
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's error page): reported below with the status.
    }
    if (!res.ok) {
      const e = (json ?? {}) as { code?: unknown; message?: unknown };
      throw new SyncRequestError(
        res.status,
        typeof e.code === 'string' ? e.code : `HTTP_${res.status}`,
        typeof e.message === 'string' ? e.message : `HTTP ${res.status}`,
      );
    }
    return json as T;
  }

  /** Who the token is (machine and store), asked once and remembered. */
  getSession(): Promise<SessionResponse> {
    this.session ??= this.request<SessionResponse>('GET', '/api/session').catch((err: unknown) => {
      this.session = null;
      throw err;
    });
    return this.session;
  }

  /**
   * Pushes one mutation with a fresh event id and returns the server's result
   * when it is `applied` (or a `duplicate` of an applied one); throws
   * `WriteRejectedError` on `conflict` or `rejected`. Not retried: a caller that
   * retries a failed call sends a new event.
   */
  async pushOne(
    table: string,
    op: 'upsert' | 'delete',
    record: { id: string; [column: string]: unknown },
  ): Promise<MutationResult> {
    const { machineId } = await this.getSession();
    const eventId = newId();
    const request: PushRequest = { machineId, mutations: [{ eventId, table, op, record }] };
    const res = await this.request<PushResponse>('POST', '/api/sync/push', request);
    const result = res.results[0];
    if (!result) throw new SyncRequestError(200, 'INTERNAL', 'the server returned no result');
    const status = result.status === 'duplicate' ? (result.original ?? 'applied') : result.status;
    if (status === 'applied') return result;
    if (status === 'conflict')
      throw new WriteRejectedError(
        'conflict',
        'CONFLICT',
        `conflict: the server kept its own version of ${table}/${String(record['id'])}`,
        result,
      );
    throw new WriteRejectedError(
      'rejected',
      result.reason?.code ?? 'REJECTED',
      result.reason?.message ?? 'rejected by the server',
      result,
    );
  }

  /** One row by id, or null when the token's store has no such row. */
  async getRow<T = Record<string, unknown>>(table: string, id: string): Promise<T | null> {
    try {
      const res = await this.request<{ row: T }>(
        'GET',
        `/api/tables/${encodeURIComponent(table)}/${encodeURIComponent(id)}`,
      );
      return res.row;
    } catch (err) {
      if (err instanceof SyncRequestError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }

  /** Every row of a table the token may read (pages of 1000). */
  async listTable<T = Record<string, unknown>>(table: string): Promise<T[]> {
    const rows: T[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await this.request<{ rows: T[]; total: number }>(
        'GET',
        `/api/tables/${encodeURIComponent(table)}?limit=1000&offset=${offset}`,
      );
      rows.push(...page.rows);
      if (page.rows.length < 1000 || rows.length >= page.total) return rows;
    }
  }
}
