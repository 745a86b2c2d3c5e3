import WebSocket from 'ws';
import type { ServerMessage } from '../protocol/index.js';

/** A real WebSocket client that records what the server sends, for tests and benchmarks. */
export type LiveTestClient = {
  ws: WebSocket;
  messages: ServerMessage[];
  /** Resolves with the close code. */
  closed: Promise<number>;
  /** Waits until `predicate` holds for the messages received so far. */
  waitFor(predicate: (messages: ServerMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  send(message: unknown): void;
  close(): Promise<void>;
};

export function liveUrl(httpUrl: string, path = '/ws', query: Record<string, string> = {}): string {
  const url = new URL(path, httpUrl.replace(/^http/, 'ws'));
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.toString();
}

export function connectLive(
  url: string,
  options: { headers?: Record<string, string>; autoPong?: boolean } = {},
): Promise<LiveTestClient> {
  const ws = new WebSocket(url, {
    ...(options.headers ? { headers: options.headers } : {}),
    autoPong: options.autoPong ?? true,
  });
  const messages: ServerMessage[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    messages.push(JSON.parse((data as Buffer).toString('utf8')) as ServerMessage);
    for (const w of waiters) w();
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const client: LiveTestClient = {
    ws,
    messages,
    closed,
    waitFor(predicate, timeoutMs = 5000) {
      if (predicate(messages)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(messages)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out; received: ${JSON.stringify(messages).slice(0, 2000)}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    send(message) {
      ws.send(JSON.stringify(message));
    },
    async close() {
      if (ws.readyState === ws.CLOSED) return;
      ws.close();
      await closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
    // Refused after the handshake (bad token): still a client, with its close code.
    ws.once('close', () => resolve(client));
  });
}
