/** The console's calls: the token always travels in a header, never in a URL. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const storageKey = 'pdv-sync-console-token';

/** The token kept for this tab (sessionStorage) or, with "stay signed in", this browser. */
export function savedToken(): string | null {
  return sessionStorage.getItem(storageKey) ?? localStorage.getItem(storageKey);
}

export function saveToken(token: string | null, stay: boolean): void {
  sessionStorage.removeItem(storageKey);
  localStorage.removeItem(storageKey);
  if (token) (stay ? localStorage : sessionStorage).setItem(storageKey, token);
}

export async function api<T>(token: string, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, {
    ...init,
    headers: {
      'x-api-key': token,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.headers ?? {}),
    },
  });
  const body = (await res.json().catch(() => null)) as
    (T & { code?: string; message?: string }) | null;
  if (!res.ok)
    throw new ApiError(res.status, body?.code ?? 'HTTP', body?.message ?? res.statusText);
  return body as T;
}

export type Session = {
  role: 'admin' | 'device' | 'manager';
  machineId: string;
  storeId: string | null;
};

export type TerminalRow = {
  machineId: string;
  storeId: string | null;
  state: string;
  badge: 'idle' | 'syncing' | 'synced' | 'diverged' | 'offline';
  lastSeenAt: string;
  lastSuccessAt: string | null;
  lastError: string | null;
  backlog: number;
  oldestUnsentAt: string | null;
  deadLetters: number;
  conflicts: number;
  openConflicts: number;
  cursorLag: number | null;
  sdkVersion: string | null;
  schemaVersion: string | null;
};

/** Opens the console's live feed with a one-time ticket (browsers cannot send headers there). */
export async function openLive(
  token: string,
  onMessage: (m: Record<string, unknown>) => void,
  onState: (live: boolean) => void,
): Promise<() => void> {
  let closed = false;
  let ws: WebSocket | null = null;
  let retry = 500;
  const connect = async () => {
    if (closed) return;
    try {
      const { ticket } = await api<{ ticket: string }>(token, '/api/console/ticket', {
        method: 'POST',
      });
      const proto = location.protocol === 'https:' ? 'wss' : 'ws';
      ws = new WebSocket(`${proto}://${location.host}/api/console/live?ticket=${ticket}`);
      ws.onopen = () => {
        retry = 500;
        onState(true);
      };
      ws.onmessage = (e) => onMessage(JSON.parse(String(e.data)) as Record<string, unknown>);
      ws.onclose = () => {
        onState(false);
        if (!closed) setTimeout(() => void connect(), retry);
        retry = Math.min(retry * 2, 5000);
      };
    } catch {
      onState(false);
      if (!closed) setTimeout(() => void connect(), retry);
      retry = Math.min(retry * 2, 5000);
    }
  };
  await connect();
  return () => {
    closed = true;
    ws?.close();
  };
}
