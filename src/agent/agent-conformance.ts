import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { agentSyncId, type AgentPayload } from '../protocol/index.js';
import {
  closeTurno,
  createStoreDatabases,
  offsetMinutes,
  openTurno,
  sangria,
  seedCatalog,
  seedSales,
  type SeededSale,
  type StoreDatabases,
  type StoreDbKind,
} from '../testing/agent-sources.js';
import { WebhookReceiver } from '../testing/webhook-receiver.js';
import { AgentCycle } from './agent-cycle.js';
import { Delivery } from './delivery.js';
import { extractChannel, queryParams } from './extract.js';
import { toIsoWithOffset } from './local-time.js';
import { Outbox } from './outbox.js';
import { buildPayload } from './payload-builder.js';
import { loadQuerySet } from './queries/query-set.js';
import { openSource, type SourceDb } from './sources/source-db.js';
import { readState, writeState } from './state-file.js';
import { floorToSecond } from './window.js';

const token = 'agent-test-token-0123456789';
const minute = 60_000;
const iso = (ms: number) => toIsoWithOffset(ms, offsetMinutes);

type Harness = {
  dbs: StoreDatabases;
  receiver: WebhookReceiver;
  dataDir: string;
  outbox: Outbox;
  sources: Record<'caixa' | 'gestao', SourceDb>;
  statePath: string;
  clock: { now: number };
  cycle(overrides?: {
    maxWindowMs?: number;
    maxAttempts?: number;
    timeoutMs?: number;
    token?: string;
    maxPayloadBytes?: number;
    gzip?: boolean;
  }): AgentCycle;
  close(): Promise<void>;
};

/** A source that cannot be reached: nothing listens on port 1. */
const deadSourceUrl = 'postgres://postgres@127.0.0.1:1/none';

/** Stored sales keyed `canal:id`, and the windows of the stored payloads in arrival order. */
function assertEverySaleOnce(receiver: WebhookReceiver, expected: SeededSale[]): void {
  const want = new Set(expected.map((s) => `${s.canal}:${s.id}`));
  const got = [...receiver.sales.keys()];
  assert.equal(receiver.salesSeenTwice, 0, 'no sale stored twice');
  assert.deepEqual(
    got.filter((k) => !want.has(k)),
    [],
    'no unexpected sale',
  );
  assert.deepEqual(
    [...want].filter((k) => !receiver.sales.has(k)),
    [],
    'every sale received',
  );
}

/** The stored payloads' windows follow each other with neither gap nor overlap. */
function assertContiguous(payloads: AgentPayload[], fromMs: number, toMs: number): void {
  const windows = payloads
    .filter((p) => !p.integrity.warnings.includes('GESTAO_BACKFILL'))
    .map((p) => [Date.parse(p.window.from), Date.parse(p.window.to)] as const);
  assert.ok(windows.length > 0);
  assert.equal(windows[0][0], fromMs, 'first window starts at the old last_sync_to');
  for (let i = 1; i < windows.length; i++)
    assert.equal(windows[i][0], windows[i - 1][1], `window ${i} starts where ${i - 1} ended`);
  assert.equal(windows.at(-1)![1], toMs, 'last window ends at last_sync_to');
}

/**
 * The agent's behaviour against one real engine holding the reference schema
 * (docs/agent.md): registered once per engine, like the server's sync conformance.
 */
export function registerAgentConformance(kind: StoreDbKind): void {
  describe(`sync agent on ${kind}`, () => {
    let h: Harness;
    const queries = loadQuerySet();
    const logger = pino({ level: 'silent' });

    before(async () => {
      const receiver = await WebhookReceiver.start(token);
      h = {
        dbs: undefined as unknown as StoreDatabases,
        receiver,
        dataDir: '',
        outbox: undefined as unknown as Outbox,
        sources: undefined as unknown as Harness['sources'],
        statePath: '',
        clock: { now: Date.now() },
        cycle(o = {}) {
          return new AgentCycle({
            config: {
              storeIdPontoVenda: 1,
              storeIdFilial: 7,
              utcOffset: offsetMinutes,
              intervalMs: 10 * minute,
              maxWindowMs: o.maxWindowMs ?? 60 * minute,
              safetyLagMs: 0,
              startFrom: undefined,
              maxAttempts: o.maxAttempts ?? 50,
              maxPayloadBytes: o.maxPayloadBytes ?? 8 * 1024 * 1024,
            },
            sources: this.sources,
            queries,
            outbox: this.outbox,
            delivery: new Delivery({
              url: receiver.url,
              token: o.token ?? token,
              timeoutMs: o.timeoutMs ?? 5000,
              retries: 1,
              baseDelayMs: 5,
              maxDelayMs: 20,
              gzip: o.gzip ?? false,
            }),
            statePath: this.statePath,
            logger,
            now: () => this.clock.now,
          });
        },
        async close() {
          await closeStore();
          await receiver.close();
          if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
        },
      };
    });
    after(async () => h.close());

    let nextId = 1000;
    async function closeStore(): Promise<void> {
      if (!h.dbs) return;
      await h.sources.caixa.close();
      await h.sources.gestao.close();
      await h.dbs.close();
    }
    /** Fresh databases (each test its own sales), agent folder, receiver and state. */
    async function fresh(lastToMs: number): Promise<void> {
      await closeStore();
      h.dbs = await createStoreDatabases(kind);
      await seedCatalog(h.dbs);
      h.sources = {
        caixa: await openSource(h.dbs.caixaUrl),
        gestao: await openSource(h.dbs.gestaoUrl),
      };
      if (h.dataDir) rmSync(h.dataDir, { recursive: true, force: true });
      h.dataDir = mkdtempSync(join(tmpdir(), 'pdv-agent-data-'));
      h.outbox = new Outbox(h.dataDir);
      h.statePath = join(h.dataDir, 'state.json');
      h.receiver.payloads.length = 0;
      h.receiver.arrivals.length = 0;
      h.receiver.sales.clear();
      h.receiver.duplicatePayloads = 0;
      h.receiver.encodings.length = 0;
      h.receiver.mode = { kind: 'ok' };
      await writeState(h.statePath, { last_sync_to: iso(lastToMs), gestao_pending: [] });
    }
    const ids = (n: number) => {
      const first = nextId;
      nextId += n + 10;
      return first;
    };

    test('a normal cycle sends the window once: sales with items and payments, the closed turno with its sangria', async () => {
      const now = floorToSecond(Date.now());
      h.clock.now = now;
      const start = now - 10 * minute;
      await fresh(start);
      const turno = `T-${ids(1)}`;
      await openTurno(h.dbs, turno, start - 60 * minute);
      const before = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(1),
        count: 1,
        fromMs: start - 1000,
        spreadMs: 1,
        turno,
      });
      const edge = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(1),
        count: 1,
        fromMs: start,
        spreadMs: 1,
        turno,
      });
      const caixa = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(5),
        count: 5,
        fromMs: start + minute,
        spreadMs: 5 * minute,
        turno,
      });
      const loja = await seedSales(h.dbs, {
        db: 'gestao',
        firstId: ids(3),
        count: 3,
        fromMs: start + minute,
        spreadMs: 3 * minute,
      });
      const late = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(1),
        count: 1,
        fromMs: now,
        spreadMs: 1,
        turno,
      });
      await sangria(h.dbs, ids(1), turno, start + 7 * minute, 50);
      const shiftTotal = [...before, ...edge, ...caixa].reduce((s, v) => s + v.total, 0);
      await closeTurno(h.dbs, ids(1), turno, start + 8 * minute, shiftTotal - 2);

      const report = await h.cycle().runOnce();
      assert.deepEqual(report.errors, []);
      assert.equal(report.windows, 1);
      assert.equal(report.delivered, 1);
      assert.equal(report.backlog, 0);
      assert.equal(h.receiver.payloads.length, 1);
      const p = h.receiver.payloads[0];
      assert.equal(p.schema_version, '4.0.0');
      assert.equal(p.event_type, 'mixed');
      assert.deepEqual(p.store, { id_ponto_venda: 1, id_filial: 7 });
      assert.deepEqual(p.window, { from: iso(start), to: iso(now), minutes: 10 });
      assert.equal(p.integrity.sync_id, agentSyncId(p));
      assert.deepEqual(p.integrity.warnings, []);
      // Half-open [from, to): the sale at `from` is in, the ones before `from` and at `to` are not.
      assertEverySaleOnce(h.receiver, [...edge, ...caixa, ...loja]);
      assert.ok(!h.receiver.sales.has(`HIPER_CAIXA:${late[0].id}`));
      const v = p.vendas.find((x) => x.id_operacao === caixa[0].id)!;
      assert.equal(v.canal, 'HIPER_CAIXA');
      assert.equal(v.id_turno, turno);
      assert.equal(v.total, caixa[0].total);
      assert.equal(v.data_hora, iso(caixa[0].atMs));
      assert.equal(v.itens.length, 2);
      assert.equal(Math.round(v.itens.reduce((s, i) => s + i.total, 0) * 100) / 100, v.total);
      assert.equal(v.pagamentos.length, 1);
      assert.equal(v.pagamentos[0].valor, v.total);
      assert.ok(['Dinheiro', 'Credito'].includes(v.pagamentos[0].meio));
      assert.ok(p.vendas.some((x) => x.canal === 'HIPER_LOJA'));
      assert.equal(p.turnos.length, 1);
      const t = p.turnos[0];
      assert.equal(t.id_turno, turno);
      assert.equal(t.fechado, true);
      assert.equal(t.totais_sistema.total, Math.round(shiftTotal * 100) / 100);
      assert.equal(t.fechamento_declarado?.total, Math.round((shiftTotal - 2) * 100) / 100);
      assert.equal(t.fechamento_declarado?.['Dinheiro'], Math.round((shiftTotal - 2) * 100) / 100);
      assert.equal(t.operador.nome, 'Maria');
      assert.equal(t.sangrias.length, 1);
      assert.equal(t.sangrias[0].valor, 50);
      assert.equal(readState(h.statePath)?.last_sync_to, iso(now));

      // The same window read again gives the same bytes, hence the same sync_id.
      const again = async () => {
        const w = { fromMs: start, toMs: now };
        const rows = {
          caixa: await extractChannel(
            h.sources.caixa,
            queries.caixa,
            queryParams(w, offsetMinutes, 1, h.sources.caixa.dialect),
          ),
          gestao: await extractChannel(
            h.sources.gestao,
            queries.gestao,
            queryParams(w, offsetMinutes, 7, h.sources.gestao.dialect),
          ),
        };
        return buildPayload({
          window: w,
          offsetMinutes,
          store: { idPontoVenda: 1, idFilial: 7 },
          ...rows,
          warnings: [],
        });
      };
      assert.equal((await again()).integrity.sync_id, p.integrity.sync_id);
    });

    test('the webhook failing for several cycles: payloads wait in the outbox, then drain in order, none twice', async () => {
      const t0 = floorToSecond(Date.now()) - 40 * minute;
      await fresh(t0);
      const sales = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(40),
        count: 40,
        fromMs: t0,
        spreadMs: 20 * minute,
      });
      const loja = await seedSales(h.dbs, {
        db: 'gestao',
        firstId: ids(10),
        count: 10,
        fromMs: t0,
        spreadMs: 20 * minute,
      });
      h.receiver.mode = { kind: 'status', status: 503 };
      const cycle = h.cycle();
      for (let k = 1; k <= 4; k++) {
        h.clock.now = t0 + k * 4 * minute;
        const r = await cycle.runOnce();
        assert.equal(r.windows, 1);
        assert.equal(r.delivered, 0);
        assert.equal(r.backlog, k, 'each cycle adds its window to the outbox');
      }
      const waiting = h.outbox.list();
      assert.equal(waiting[0].attempts, 4, 'the oldest file counts each failed cycle');
      assert.ok(
        waiting.slice(1).every((e) => e.attempts === 0),
        'later files wait their turn',
      );
      assert.equal(h.receiver.payloads.length, 0);

      h.receiver.mode = { kind: 'ok' };
      h.clock.now = t0 + 20 * minute;
      const r = await cycle.runOnce();
      assert.equal(r.delivered, 5);
      assert.equal(r.backlog, 0);
      assert.equal(h.receiver.duplicatePayloads, 0);
      assertContiguous(h.receiver.payloads, t0, t0 + 20 * minute);
      assertEverySaleOnce(h.receiver, [...sales, ...loja]);
    });

    test('a payload refused with a 4xx goes to dead_letter with its reason; the rest still goes', async () => {
      const t0 = floorToSecond(Date.now()) - 10 * minute;
      await fresh(t0);
      h.clock.now = t0 + 10 * minute;
      await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(10),
        count: 10,
        fromMs: t0,
        spreadMs: 10 * minute,
      });
      const firstFrom = iso(t0);
      h.receiver.mode = { kind: 'refuse', status: 422, when: (p) => p.window.from === firstFrom };
      const r = await h.cycle({ maxWindowMs: 5 * minute }).runOnce();
      assert.equal(r.windows, 2);
      assert.equal(r.deadLettered, 1);
      assert.equal(r.delivered, 1);
      assert.equal(h.receiver.payloads.length, 1);
      const dead = h.outbox.deadLetters();
      assert.equal(dead.length, 1);
      const reason = JSON.parse(
        readFileSync(join(h.outbox.deadLetterDir, `${dead[0]}.reason.json`), 'utf8'),
      ) as Record<string, unknown>;
      assert.equal(reason['reason'], 'refused');
      assert.equal(reason['status'], 422);
      assert.match(String(reason['body']), /refused by the test/);
      assert.deepEqual(reason['window'], { from: firstFrom, to: iso(t0 + 5 * minute) });

      // Once the cause is fixed, --requeue-dead-letter sends it.
      h.receiver.mode = { kind: 'ok' };
      assert.equal(h.outbox.requeueDeadLetters(), 1);
      const r2 = await h.cycle().runOnce();
      assert.equal(r2.delivered, 1);
      assert.equal(h.outbox.deadLetters().length, 0);
      assert.equal(h.receiver.payloads.length, 2);
    });

    test('a payload failing maxAttempts times (5xx or timeout) goes to dead_letter', async () => {
      const t0 = floorToSecond(Date.now()) - 5 * minute;
      await fresh(t0);
      h.clock.now = t0 + 5 * minute;
      h.receiver.mode = { kind: 'status', status: 500 };
      const cycle = h.cycle({ maxAttempts: 3, timeoutMs: 300 });
      await cycle.runOnce();
      h.receiver.mode = { kind: 'hang' };
      await cycle.runOnce();
      assert.equal(h.outbox.list()[0].attempts, 2, 'a timeout counts as a failure');
      h.receiver.mode = { kind: 'status', status: 502 };
      const r = await cycle.runOnce();
      assert.equal(r.deadLettered, 1);
      assert.equal(r.backlog, 0);
      const [dead] = h.outbox.deadLetters();
      const reason = JSON.parse(
        readFileSync(join(h.outbox.deadLetterDir, `${dead}.reason.json`), 'utf8'),
      ) as Record<string, unknown>;
      assert.equal(reason['reason'], 'max_attempts');
      assert.equal(reason['attempts'], 3);
      assert.equal(reason['status'], 502);
    });

    test('a refused token (401) keeps the whole outbox: nothing is dead-lettered', async () => {
      const t0 = floorToSecond(Date.now()) - 10 * minute;
      await fresh(t0);
      h.clock.now = t0 + 10 * minute;
      const sales = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(4),
        count: 4,
        fromMs: t0,
        spreadMs: 10 * minute,
      });
      const r1 = await h.cycle({ maxWindowMs: 5 * minute, token: 'revoked-token-000' }).runOnce();
      assert.equal(r1.windows, 2);
      assert.equal(r1.deadLettered, 0);
      assert.equal(r1.backlog, 2);
      assert.match(r1.errors.join(), /API_TOKEN refused/);
      assert.ok(
        h.outbox.list().every((e) => e.attempts === 0),
        'not counted against the files',
      );
      const r2 = await h.cycle().runOnce();
      assert.equal(r2.delivered, 2);
      assertEverySaleOnce(h.receiver, sales);
    });

    test('killed between queueing a window and saving state.json: the queued window is neither skipped nor read again', async () => {
      const t0 = floorToSecond(Date.now()) - 10 * minute;
      await fresh(t0);
      const sales = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(10),
        count: 10,
        fromMs: t0,
        spreadMs: 10 * minute,
      });
      // What the crashed agent left: [t0, t0 + 4 min) queued, state.json still at t0.
      const w = { fromMs: t0, toMs: t0 + 4 * minute };
      const rows = await extractChannel(
        h.sources.caixa,
        queries.caixa,
        queryParams(w, offsetMinutes, 1, h.sources.caixa.dialect),
      );
      const gestao = await extractChannel(
        h.sources.gestao,
        queries.gestao,
        queryParams(w, offsetMinutes, 7, h.sources.gestao.dialect),
      );
      h.outbox.enqueue(
        buildPayload({
          window: w,
          offsetMinutes,
          store: { idPontoVenda: 1, idFilial: 7 },
          caixa: rows,
          gestao,
          warnings: [],
        }),
      );
      assert.equal(readState(h.statePath)?.last_sync_to, iso(t0));

      // Restarted before more is due: the queued file is sent, and state.json catches up
      // first, so a second crash right after cannot make [t0, …) be read again.
      h.clock.now = t0 + 4 * minute;
      const r1 = await h.cycle().runOnce();
      assert.equal(r1.windows, 0);
      assert.equal(r1.delivered, 1);
      assert.equal(readState(h.statePath)?.last_sync_to, iso(t0 + 4 * minute));

      h.clock.now = t0 + 10 * minute;
      const r = await h.cycle().runOnce();
      assert.equal(r.windows, 1, 'only [t0 + 4 min, now) is read');
      assert.equal(r.delivered, 1);
      assertContiguous(h.receiver.payloads, t0, t0 + 10 * minute);
      assertEverySaleOnce(h.receiver, sales);
      assert.equal(readState(h.statePath)?.last_sync_to, iso(t0 + 10 * minute));
    });

    test('a window whose payload is above AGENT_MAX_PAYLOAD is read in halves until it fits', async () => {
      const t0 = floorToSecond(Date.now()) - 16 * minute;
      await fresh(t0);
      h.clock.now = t0 + 16 * minute;
      const sales = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(200),
        count: 200,
        fromMs: t0,
        spreadMs: 16 * minute,
      });
      const r = await h.cycle({ maxPayloadBytes: 20 * 1024 }).runOnce();
      assert.ok(r.windows >= 4, `split into ${r.windows} windows`);
      assert.ok(h.receiver.payloads.every((p) => JSON.stringify(p).length <= 20 * 1024));
      assertContiguous(h.receiver.payloads, t0, t0 + 16 * minute);
      assertEverySaleOnce(h.receiver, sales);
    });

    test('AGENT_GZIP sends the outbox bytes as they are, with Content-Encoding: gzip', async () => {
      const t0 = floorToSecond(Date.now()) - 5 * minute;
      await fresh(t0);
      h.clock.now = t0 + 5 * minute;
      const sales = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(5),
        count: 5,
        fromMs: t0,
        spreadMs: 5 * minute,
      });
      const r = await h.cycle({ gzip: true }).runOnce();
      assert.equal(r.delivered, 1);
      assert.deepEqual(h.receiver.encodings, ['gzip']);
      assertEverySaleOnce(h.receiver, sales);
    });

    test('gestao down: caixa is sent with GESTAO_DB_FAILURE, and gestao is read again when it is back', async () => {
      const t0 = floorToSecond(Date.now()) - 20 * minute;
      await fresh(t0);
      const caixa = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(6),
        count: 6,
        fromMs: t0,
        spreadMs: 20 * minute,
      });
      const loja = await seedSales(h.dbs, {
        db: 'gestao',
        firstId: ids(4),
        count: 4,
        fromMs: t0,
        spreadMs: 20 * minute,
      });
      const realGestao = h.sources.gestao;
      h.sources.gestao = await openSource(deadSourceUrl);
      try {
        const cycle = h.cycle();
        h.clock.now = t0 + 10 * minute;
        const r1 = await cycle.runOnce();
        assert.equal(r1.windows, 1);
        assert.equal(r1.delivered, 1);
        assert.match(r1.errors.join(), /AGENT_SOURCE_UNAVAILABLE/);
        const p1 = h.receiver.payloads[0];
        assert.deepEqual(p1.integrity.warnings, ['GESTAO_DB_FAILURE']);
        assert.ok(p1.vendas.length > 0 && p1.vendas.every((v) => v.canal === 'HIPER_CAIXA'));
        assert.deepEqual(readState(h.statePath)?.gestao_pending, [
          { from: iso(t0), to: iso(t0 + 10 * minute) },
        ]);

        await h.sources.gestao.close();
        h.sources.gestao = realGestao;
        h.clock.now = t0 + 20 * minute;
        const r2 = await cycle.runOnce();
        assert.equal(r2.backfills, 1);
        assert.equal(r2.delivered, 2);
        assert.deepEqual(readState(h.statePath)?.gestao_pending, []);
        const backfill = h.receiver.payloads.find((p) =>
          p.integrity.warnings.includes('GESTAO_BACKFILL'),
        )!;
        assert.deepEqual(backfill.window, p1.window);
        assert.ok(backfill.vendas.every((v) => v.canal === 'HIPER_LOJA'));
        assertEverySaleOnce(h.receiver, [...caixa, ...loja]);
        assertContiguous(h.receiver.payloads, t0, t0 + 20 * minute);
      } finally {
        h.sources.gestao = realGestao;
      }
    });

    test('caixa down: nothing is sent and the window is read on a later cycle', async () => {
      const t0 = floorToSecond(Date.now()) - 10 * minute;
      await fresh(t0);
      const sales = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(3),
        count: 3,
        fromMs: t0,
        spreadMs: 10 * minute,
      });
      const realCaixa = h.sources.caixa;
      h.sources.caixa = await openSource(deadSourceUrl);
      try {
        const cycle = h.cycle();
        h.clock.now = t0 + 10 * minute;
        const r1 = await cycle.runOnce();
        assert.equal(r1.windows, 0);
        assert.match(r1.errors.join(), /AGENT_SOURCE_UNAVAILABLE: caixa/);
        assert.equal(readState(h.statePath)?.last_sync_to, iso(t0));
        await h.sources.caixa.close();
        h.sources.caixa = realCaixa;
        const r2 = await cycle.runOnce();
        assert.equal(r2.windows, 1);
        assertEverySaleOnce(h.receiver, sales);
      } finally {
        h.sources.caixa = realCaixa;
      }
    });

    test('after a two-hour outage every minute is caught up in bounded windows, then the normal cycle resumes', async () => {
      const now = floorToSecond(Date.now());
      h.clock.now = now;
      const t0 = now - 120 * minute;
      await fresh(t0);
      const caixa = await seedSales(h.dbs, {
        db: 'caixa',
        firstId: ids(600),
        count: 600,
        fromMs: t0,
        spreadMs: 120 * minute,
      });
      const loja = await seedSales(h.dbs, {
        db: 'gestao',
        firstId: ids(200),
        count: 200,
        fromMs: t0,
        spreadMs: 120 * minute,
      });
      const cycle = h.cycle({ maxWindowMs: 30 * minute });
      const r = await cycle.runOnce();
      assert.equal(r.windows, 4, '120 minutes in windows of at most 30');
      assert.equal(r.delivered, 4);
      assert.ok(
        h.receiver.payloads.every(
          (p) => p.window.minutes <= 30 && p.integrity.warnings.includes('CATCH_UP'),
        ),
      );
      assertContiguous(h.receiver.payloads, t0, now);
      assertEverySaleOnce(h.receiver, [...caixa, ...loja]);
      assert.equal(readState(h.statePath)?.last_sync_to, iso(now));

      h.clock.now = now + minute;
      const next = await cycle.runOnce();
      assert.equal(next.windows, 1);
      assert.deepEqual(h.receiver.payloads.at(-1)!.integrity.warnings, [], 'back to normal cycles');
      assert.ok(existsSync(h.statePath));
      assert.deepEqual(readdirSync(h.outbox.dir), []);
    });
  });
}
