import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import {
  LiveSocket,
  liveChannelUrl,
  reconnectDelay,
  type LiveSocketSnapshot,
} from './live-socket.js';

const waitFor = async (check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('LiveSocket', () => {
  let ts: TestServer;
  let apiUrl: string;
  before(async () => {
    ts = await startTestServer('sqlite');
    apiUrl = await ts.server.listen();
  });
  after(() => ts.close());

  test('backoff: full jitter below a ceiling that doubles from 250 ms up to reconnectInterval', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 40, 10_000].map((n) =>
      reconnectDelay(n, 3000, () => 0.999999),
    );
    assert.deepEqual(ceilings, [249, 499, 999, 1999, 2999, 2999, 2999, 2999]);
    for (let n = 1; n < 50; n++) {
      const d = reconnectDelay(n, 3000);
      assert.ok(d >= 0 && d < 3000, `attempt ${n}: ${d}`);
    }
    assert.equal(
      reconnectDelay(7, 3000, () => 0),
      0,
    );
  });

  test('the channel URL is derived from the API URL, keeping a path prefix', () => {
    assert.equal(
      liveChannelUrl('http://10.0.0.5:3001', '/ws/pedidos', 'a b'),
      'ws://10.0.0.5:3001/ws/pedidos?token=a+b',
    );
    assert.equal(
      liveChannelUrl('https://loja.example/pdv/', '/ws', 't'),
      'wss://loja.example/pdv/ws?token=t',
    );
  });

  test('connects, answers pings, and stops for good on close 1008 (bad token)', async () => {
    const token = await ts.device('loja-ls', 'caixa-ls');
    const messages: string[] = [];
    const good = new LiveSocket(
      liveChannelUrl(apiUrl, '/ws/pedidos', token),
      { heartbeatInterval: 100 },
      { onMessage: (m) => messages.push(m.type) },
      (url) => new WebSocket(url),
    );
    good.connect();
    await waitFor(() => messages.includes('pong'));
    assert.equal(good.snapshot.state, 'connected');
    assert.equal(messages[0], 'connection');
    good.close();
    assert.equal(good.snapshot.state, 'disconnected');

    let opened = 0;
    const errors: string[] = [];
    const bad = new LiveSocket(
      liveChannelUrl(apiUrl, '/ws/pedidos', 'garbage'),
      { reconnectInterval: 100 },
      { onError: (e) => errors.push(e.code) },
      (url) => {
        opened++;
        return new WebSocket(url);
      },
    );
    bad.connect();
    await waitFor(() => bad.snapshot.state === 'error');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(opened, 1, 'not retried');
    assert.deepEqual(errors, ['unauthorized']);
    assert.equal(bad.snapshot.error?.closeCode, 1008);
  });

  test('a connection silent for two heartbeat periods is dropped and retried; maxReconnectAttempts gives up', async () => {
    // A server that accepts and then never says a word (a half-open link).
    const mute = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => mute.once('listening', r));
    const connections: WebSocket[] = [];
    mute.on('connection', (ws) => connections.push(ws));
    const url = `ws://127.0.0.1:${(mute.address() as AddressInfo).port}/`;
    const states: LiveSocketSnapshot[] = [];
    let disconnects = 0;
    const socket = new LiveSocket(
      url,
      { heartbeatInterval: 100, reconnectInterval: 50, maxReconnectAttempts: 2 },
      { onChange: (s) => states.push(s), onDisconnect: () => disconnects++ },
      (u) => new WebSocket(u),
    );
    socket.connect();
    await waitFor(() => socket.snapshot.state === 'error', 5000);
    assert.equal(connections.length, 3, 'the first connection and two retries');
    assert.equal(disconnects, 3);
    assert.equal(socket.snapshot.error?.code, 'gave-up');
    assert.ok(states.some((s) => s.state === 'connecting' && s.reconnectAttempt === 2));
    socket.close();
    for (const c of connections) c.terminate();
    await new Promise((r) => mute.close(r));
  });
});
