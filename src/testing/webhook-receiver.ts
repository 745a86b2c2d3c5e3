import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { agentPayloadSchema, type AgentPayload } from '../protocol/index.js';

export type ReceiverMode =
  | { kind: 'ok' }
  | { kind: 'status'; status: number }
  | { kind: 'hang' }
  | { kind: 'refuse'; status: number; when: (p: AgentPayload) => boolean };

/**
 * A real HTTP webhook for the agent's tests (node:http): checks the Bearer token,
 * validates the v4 payload, and stores it once per sync_id and each sale once per
 * (canal, id_operacao), as the pdv-sync server does. Counts what arrives twice.
 */
export class WebhookReceiver {
  url = '';
  mode: ReceiverMode = { kind: 'ok' };
  /** Stored payloads, in arrival order, one per sync_id. */
  readonly payloads: AgentPayload[] = [];
  /** Every sync_id in arrival order, repeats included. */
  readonly arrivals: string[] = [];
  readonly sales = new Map<string, number>();
  requests = 0;
  /** `content-encoding` of each request ('identity' when absent). */
  readonly encodings: string[] = [];
  duplicatePayloads = 0;
  private readonly server = createServer((req, res) => void this.handle(req, res));

  constructor(private readonly token: string) {}

  static async start(token: string): Promise<WebhookReceiver> {
    const r = new WebhookReceiver(token);
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/webhook`;
    return r;
  }

  /** How many distinct sales arrived in more than one stored payload. */
  get salesSeenTwice(): number {
    return [...this.sales.values()].filter((n) => n > 1).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return reply(401, { code: 'UNAUTHORIZED' });
    if (this.mode.kind === 'status') return reply(this.mode.status, { code: 'INTERNAL' });
    if (this.mode.kind === 'hang') return; // never answers: the agent's timeout fires
    const encoding = req.headers['content-encoding'] ?? 'identity';
    this.encodings.push(encoding);
    const raw = Buffer.concat(chunks);
    const text = (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
    const parsed = agentPayloadSchema.safeParse(safeJson(text));
    if (!parsed.success)
      return reply(400, { code: 'VALIDATION_FAILED', message: parsed.error.message });
    const payload = parsed.data;
    if (this.mode.kind === 'refuse' && this.mode.when(payload))
      return reply(this.mode.status, { code: 'VALIDATION_FAILED', message: 'refused by the test' });
    this.arrivals.push(payload.integrity.sync_id);
    if (this.payloads.some((p) => p.integrity.sync_id === payload.integrity.sync_id)) {
      this.duplicatePayloads++;
      return reply(200, { syncId: payload.integrity.sync_id, status: 'duplicate' });
    }
    this.payloads.push(payload);
    for (const v of payload.vendas) {
      const key = `${v.canal}:${v.id_operacao}`;
      this.sales.set(key, (this.sales.get(key) ?? 0) + 1);
    }
    reply(200, { syncId: payload.integrity.sync_id, status: 'stored' });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
