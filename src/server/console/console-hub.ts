import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { consoleSocketPath, type ConsoleMessage } from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import { scopeOf } from './terminal-board.js';

const ticketTtlMs = 30_000;

type Watcher = { ws: WebSocket; scope: string | null };

/**
 * The console's live feed. Browsers cannot set headers on a WebSocket, and a token
 * in a URL ends up in logs, so the console first trades its token (sent in a header)
 * for a ticket: random, good for one connection, within 30 seconds. Messages carry
 * terminal rows and alerts, each sent only to watchers of its store (or the admin).
 */
export class ConsoleHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  private readonly tickets = new Map<string, { identity: Identity; expires: number }>();
  private readonly watchers = new Set<Watcher>();

  /** A one-time ticket for the caller, to put in the WebSocket URL. */
  issue(identity: Identity): { ticket: string; expiresInSeconds: number } {
    const now = Date.now();
    for (const [t, v] of this.tickets) if (v.expires < now) this.tickets.delete(t);
    const ticket = randomBytes(24).toString('base64url');
    this.tickets.set(ticket, { identity, expires: now + ticketTtlMs });
    return { ticket, expiresInSeconds: ticketTtlMs / 1000 };
  }

  handles(request: IncomingMessage): boolean {
    return new URL(request.url ?? '/', 'http://localhost').pathname === consoleSocketPath;
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const url = new URL(request.url ?? '/', 'http://localhost');
    const ticket = url.searchParams.get('ticket') ?? '';
    const entry = this.tickets.get(ticket);
    // One use only: a ticket copied from a log cannot open a second connection.
    this.tickets.delete(ticket);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      if (!entry || entry.expires < Date.now()) {
        ws.close(1008, 'unauthorized: missing, used or expired ticket');
        return;
      }
      const watcher: Watcher = { ws, scope: scopeOf(entry.identity) };
      this.watchers.add(watcher);
      ws.on('close', () => this.watchers.delete(watcher));
      ws.on('error', () => undefined);
      ws.send(
        JSON.stringify({ type: 'hello', at: new Date().toISOString() } satisfies ConsoleMessage),
      );
    });
  }

  /** Sends a message to the admin and to watchers of `storeId`. */
  publish(storeId: string | null, message: ConsoleMessage): void {
    if (this.watchers.size === 0) return;
    const data = JSON.stringify(message);
    for (const w of this.watchers)
      if (w.scope === null || w.scope === storeId)
        if (w.ws.readyState === w.ws.OPEN && w.ws.bufferedAmount < 1024 * 1024) w.ws.send(data);
  }

  get size(): number {
    return this.watchers.size;
  }

  stop(): void {
    for (const w of this.watchers) w.ws.close(1001, 'server stopping');
    this.watchers.clear();
    this.tickets.clear();
  }
}
