import pg from 'pg';

/**
 * One dedicated connection LISTENing to the capture triggers' channel. A lost
 * connection is reopened after a pause, and the listener is called once on every
 * (re)connection, since notifications sent while it was down are gone.
 */
export class CommitListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly connectionString: string,
    private readonly channel: string,
    private readonly listener: () => void,
    private readonly retryMs = 1000,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on('notification', () => this.listener());
    client.on('error', () => this.reopen(client));
    client.on('end', () => this.reopen(client));
    await client.connect();
    await client.query(`LISTEN ${this.channel}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.client = client;
    this.listener();
  }

  private reopen(client: pg.Client): void {
    if (this.stopped || this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    const attempt = (): void => {
      this.retryTimer = null;
      if (this.stopped) return;
      this.connect().catch(() => {
        this.retryTimer = setTimeout(attempt, this.retryMs).unref();
      });
    };
    this.retryTimer = setTimeout(attempt, this.retryMs).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
