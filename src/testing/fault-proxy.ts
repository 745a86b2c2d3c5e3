import net from 'node:net';

export type FaultMode =
  | { kind: 'pass' }
  /** Accepts connections and never forwards a byte: requests hang until the client times out. */
  | { kind: 'blackhole' }
  /** Resets every new connection at once. */
  | { kind: 'reset' }
  /** Delays every chunk in both directions. */
  | { kind: 'latency'; ms: number }
  /** Forwards the request, then cuts the connection after N bytes of the response ("applied, answer lost"). */
  | { kind: 'cut-response'; afterBytes: number };

/**
 * A TCP proxy for network faults in tests (tc netem does not work here):
 * the mode can be changed at any time; `cutAll()` drops every open connection.
 */
export class FaultProxy {
  private server: net.Server;
  private sockets = new Set<net.Socket>();
  private current: FaultMode = { kind: 'pass' };
  port = 0;

  get mode(): FaultMode {
    return this.current;
  }

  /** A new fault applies to open connections too: keep-alive sockets are dropped. */
  set mode(mode: FaultMode) {
    this.current = mode;
    this.cutAll();
  }

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = net.createServer((client) => this.handle(client));
  }

  static async start(target: string): Promise<FaultProxy> {
    const url = new URL(target);
    const proxy = new FaultProxy(url.hostname, Number(url.port));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private handle(client: net.Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    const mode = this.current;
    if (mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (mode.kind === 'blackhole') {
      client.on('data', () => undefined);
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const delay = mode.kind === 'latency' ? mode.ms : 0;
    const forward = (from: net.Socket, to: net.Socket, direction: 'up' | 'down') => {
      let sent = 0;
      from.on('data', (chunk: Buffer) => {
        const send = () => {
          if (mode.kind === 'cut-response' && direction === 'down') {
            const room = mode.afterBytes - sent;
            if (room <= 0) return;
            to.write(chunk.subarray(0, room));
            sent += Math.min(room, chunk.length);
            if (sent >= mode.afterBytes) {
              client.resetAndDestroy();
              upstream.destroy();
            }
            return;
          }
          to.write(chunk);
        };
        if (delay) setTimeout(send, delay);
        else send();
      });
    };
    forward(client, upstream, 'up');
    forward(upstream, client, 'down');
  }

  /** Drops every open connection (a cable pulled mid-request). */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
