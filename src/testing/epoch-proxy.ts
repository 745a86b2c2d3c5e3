import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type EpochInfo = {
  databaseId: string;
  restoredFrom: null | { databaseId: string; takenAt: string; headSeq: number };
};

/**
 * An HTTP proxy in front of a real server for the restore-epoch tests (contract C3) while the
 * server side is not merged: it adds `x-pdv-sync-epoch` when the server sends none, and answers
 * `GET /api/sync/epoch` from `info` when the server answers 404. A server that implements the
 * contract is passed through untouched.
 */
export class EpochProxy {
  info: EpochInfo;
  private readonly server: http.Server;
  url = '';

  private constructor(
    private readonly target: URL,
    info: EpochInfo,
  ) {
    this.info = info;
    this.server = http.createServer((req, res) => this.forward(req, res));
  }

  static async start(target: string, info: EpochInfo): Promise<EpochProxy> {
    const p = new EpochProxy(new URL(target), info);
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    p.url = `http://127.0.0.1:${(p.server.address() as AddressInfo).port}`;
    return p;
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const upstream = http.request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: false,
      },
      (up) => {
        const headers = { ...up.headers };
        const native = typeof headers['x-pdv-sync-epoch'] === 'string';
        if (!native) headers['x-pdv-sync-epoch'] = this.info.databaseId;
        if (!native && up.statusCode === 404 && req.url?.startsWith('/api/sync/epoch')) {
          up.resume();
          const body = JSON.stringify(this.info);
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-pdv-sync-epoch': this.info.databaseId,
          });
          res.end(body);
          return;
        }
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
