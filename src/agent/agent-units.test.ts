import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SyncError } from '../protocol/index.js';
import { loadAgentConfig, sqlServerUrl } from './agent-config.js';
import { parseDuration } from './duration.js';
import { queryParams } from './extract.js';
import {
  parseSourceTimestamp,
  parseUtcOffset,
  toIsoWithOffset,
  toLocalNaive,
} from './local-time.js';
import { Outbox } from './outbox.js';
import { buildPayload } from './payload-builder.js';
import { loadQuerySet } from './queries/query-set.js';
import { compileNamedParams } from './sources/named-params.js';
import { mssqlConfigFromUrl, naiveFromDate } from './sources/mssql-source.js';
import { dialectOf, maskUrl } from './sources/source-db.js';
import { readState, writeState } from './state-file.js';
import { dueWindows, nextWindow } from './window.js';

const minute = 60_000;

describe('windows', () => {
  const policy = { maxWindowMs: 60 * minute, safetyLagMs: 30_000 };
  const t0 = Date.UTC(2024, 4, 20, 13, 0, 0);

  test('a window runs from last_sync_to to now minus the safety lag, in whole seconds', () => {
    assert.deepEqual(nextWindow(t0, t0 + 10 * minute + 45_700, policy), {
      fromMs: t0,
      toMs: t0 + 10 * minute + 15_000,
    });
  });

  test('nothing is due while the clock is within the safety lag', () => {
    assert.equal(nextWindow(t0, t0 + 30_000, policy), null);
    assert.equal(nextWindow(t0, t0 - minute, policy), null, 'a clock set back reads nothing');
  });

  test('after an outage the missed time is split into contiguous windows of at most maxWindow', () => {
    const ws = dueWindows(t0, t0 + 150 * minute + 30_000, policy);
    assert.deepEqual(
      ws.map((w) => [(w.fromMs - t0) / minute, (w.toMs - t0) / minute]),
      [
        [0, 60],
        [60, 120],
        [120, 150],
      ],
    );
  });
});

describe('named parameters', () => {
  const sql =
    'SELECT \':from\' AS lit, x::date, "a:b" FROM t -- :to in a comment\nWHERE a >= :from AND b < :to AND c = :store /* :x */ AND d < :to';
  const params = { from: 'F', to: 'T', store: 1 };

  test('mssql gets @name, PostgreSQL $n (one per name), mysql and sqlite ? (one per use)', () => {
    const ms = compileNamedParams(sql, params, 'at-name');
    assert.match(ms.sql, /a >= @from AND b < @to AND c = @store .* d < @to$/s);
    assert.deepEqual(ms.names, ['from', 'to', 'store']);
    const pg = compileNamedParams(sql, params, 'dollar-n');
    assert.match(pg.sql, /a >= \$1 AND b < \$2 AND c = \$3 .* d < \$2$/s);
    assert.deepEqual(pg.values, ['F', 'T', 1]);
    const q = compileNamedParams(sql, params, 'question');
    assert.deepEqual(q.values, ['F', 'T', 1, 'T']);
  });

  test('quotes, comments and casts are left alone', () => {
    const q = compileNamedParams(sql, params, 'question');
    assert.ok(q.sql.includes("':from'") && q.sql.includes('x::date') && q.sql.includes('"a:b"'));
    assert.ok(q.sql.includes('-- :to in a comment') && q.sql.includes('/* :x */'));
  });

  test('a parameter without a value is named in the error', () => {
    assert.throws(() => compileNamedParams('SELECT :nope', {}, 'question'), /:nope/);
  });

  test('every shipped query file uses only :from, :to and :store', () => {
    const set = loadQuerySet();
    for (const source of ['caixa', 'gestao'] as const)
      for (const sql of Object.values(set[source]))
        assert.doesNotThrow(() =>
          compileNamedParams(sql, { from: 1, to: 2, store: 3 }, 'dollar-n'),
        );
    assert.deepEqual(Object.keys(set.gestao).sort(), ['itens', 'pagamentos', 'vendas']);
  });
});

describe('store wall clock', () => {
  const off = parseUtcOffset('-03:00');
  const ms = Date.UTC(2024, 4, 20, 13, 0, 5);

  test('epoch ms ↔ naive local text and ISO with offset', () => {
    assert.equal(off, -180);
    assert.equal(toLocalNaive(ms, off), '2024-05-20 10:00:05');
    assert.equal(toLocalNaive(ms, off, 'T'), '2024-05-20T10:00:05');
    assert.equal(toIsoWithOffset(ms, off), '2024-05-20T10:00:05-03:00');
    assert.equal(toIsoWithOffset(ms + 120, off), '2024-05-20T10:00:05.120-03:00');
    assert.equal(parseSourceTimestamp('2024-05-20 10:00:05', off), ms);
    assert.equal(parseSourceTimestamp('2024-05-20T10:00:05.120', off), ms + 120);
    assert.equal(parseSourceTimestamp('2024-05-20 13:00:05+00', off), ms, 'timestamptz text');
    assert.equal(parseSourceTimestamp('2024-05-20T13:00:05Z', off), ms);
  });

  test('mssql datetimes (useUTC) come back as the same naive text', () => {
    assert.equal(
      naiveFromDate(new Date(Date.UTC(2024, 4, 20, 10, 0, 5, 250))),
      '2024-05-20 10:00:05.250',
    );
  });

  test('query parameters are naive wall-clock text; SQL Server gets the unambiguous T form', () => {
    const w = { fromMs: ms, toMs: ms + minute };
    assert.deepEqual(queryParams(w, off, 7, 'postgres'), {
      from: '2024-05-20 10:00:05',
      to: '2024-05-20 10:01:05',
      store: 7,
    });
    assert.equal(queryParams(w, off, 7, 'mssql')['from'], '2024-05-20T10:00:05');
  });

  test('durations', () => {
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration('600'), 600_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('soon'), undefined);
  });
});

describe('SQL Server (the driver cannot run here: its configuration is tested)', () => {
  test("the seed's variables build an mssql:// URL for the named instance", () => {
    const url = sqlServerUrl({
      host: 'localhost',
      instance: 'HIPER',
      database: 'HiperPdv',
      user: 'pdv_sync',
      password: 'p@ss:w/rd',
      encrypt: false,
    });
    assert.equal(
      url,
      'mssql://pdv_sync:p%40ss%3Aw%2Frd@localhost/HiperPdv?instance=HIPER&encrypt=false',
    );
    assert.equal(
      maskUrl(url),
      'mssql://pdv_sync:***@localhost/HiperPdv?instance=HIPER&encrypt=false',
    );
    const c = mssqlConfigFromUrl(url);
    assert.equal(c.server, 'localhost');
    assert.equal(c.database, 'HiperPdv');
    assert.equal(c.user, 'pdv_sync');
    assert.equal(c.password, 'p@ss:w/rd');
    assert.equal(c.port, undefined, 'a named instance is found through SQL Browser, not a port');
    assert.equal(c.options?.instanceName, 'HIPER');
    assert.equal(c.options?.useUTC, true);
    assert.equal(c.options?.trustServerCertificate, true);
    assert.equal(c.options?.encrypt, false);
  });

  test('an explicit port without an instance is kept', () => {
    const c = mssqlConfigFromUrl('sqlserver://sa:x@10.0.0.5:1433/Hiper?encrypt=true');
    assert.equal(c.port, 1433);
    assert.equal(c.options?.encrypt, true);
    assert.equal(c.options?.instanceName, undefined);
  });

  test('the query files translate to @name parameters', () => {
    const sql = loadQuerySet().caixa.vendas;
    const out = compileNamedParams(sql, { from: 'a', to: 'b', store: 1 }, 'at-name');
    assert.match(out.sql, /data_hora_termino >= @from\s+AND o\.data_hora_termino < @to/);
    assert.deepEqual(out.names.sort(), ['from', 'store', 'to']);
  });

  test('dialects by URL scheme', () => {
    assert.equal(dialectOf('mssql://x/y'), 'mssql');
    assert.equal(dialectOf('sqlserver://x/y'), 'mssql');
    assert.equal(dialectOf('postgresql://x/y'), 'postgres');
    assert.equal(dialectOf('mariadb://x/y'), 'mysql');
    assert.equal(dialectOf('sqlite:./a.db'), 'sqlite');
    assert.equal(dialectOf('C:\\dados\\pdv.db'), 'sqlite');
    assert.throws(() => dialectOf('oracle://x/y'), /unsupported/);
  });
});

describe('configuration', () => {
  const good = {
    API_TOKEN: 'secret-token-123',
    WEBHOOK_URL: 'https://api.example.com/api/ingest/v4',
    STORE_ID_PONTO_VENDA: '1',
    STORE_ID_FILIAL: '7',
    SQL_SERVER_INSTANCE: 'HIPER',
    SQL_DATABASE: 'HiperPdv',
    SQL_DATABASE_GESTAO: 'Hiper',
  };

  test("the seed's .env is enough; defaults follow the seed (10 min cycle)", () => {
    const c = loadAgentConfig({}, good);
    assert.equal(c.intervalMs, 600_000);
    assert.equal(c.maxWindowMs, 3_600_000);
    assert.equal(c.utcOffset, -180);
    assert.equal(c.maxAttempts, 50);
    assert.match(c.sources.caixa, /^mssql:\/\/localhost\/HiperPdv\?instance=HIPER/);
    assert.match(c.sources.gestao, /^mssql:\/\/localhost\/Hiper\?instance=HIPER/);
  });

  test('each bad or missing value is named, and the token is never echoed', () => {
    const err = (() => {
      try {
        loadAgentConfig(
          {},
          {
            ...good,
            API_TOKEN: 'short',
            STORE_ID_FILIAL: 'abc',
            SQL_SERVER_INSTANCE: '',
            WEBHOOK_URL: '',
          },
        );
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof SyncError);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /API_TOKEN: at least 8 characters \(got "\*\*\*"\)/);
    assert.match(err.message, /STORE_ID_FILIAL/);
    assert.match(err.message, /WEBHOOK_URL or API_URL \/ --webhook-url: missing/);
    assert.match(err.message, /SQL_SERVER_INSTANCE: missing/);
    assert.ok(!err.message.includes('short'));
  });

  test('driver URLs replace the SQL Server variables; flags beat the environment, which beats --config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdv-agent-cfg-'));
    try {
      const file = join(dir, '.env');
      writeFileSync(
        file,
        'API_TOKEN=from-file-token\nWEBHOOK_URL=http://file/\nSTORE_ID_PONTO_VENDA=3\nSTORE_ID_FILIAL=4\nCAIXA_DB_URL=sqlite:./caixa.db\nGESTAO_DB_URL=mariadb://root@127.0.0.1/hiper\nAGENT_INTERVAL=30s\nAGENT_DATA_DIR=./dados\n',
      );
      const c = loadAgentConfig(
        { config: file, intervalMs: '500ms' },
        { WEBHOOK_URL: 'http://env/' },
      );
      assert.equal(c.webhookUrl, 'http://env/');
      assert.equal(c.apiToken, 'from-file-token');
      assert.equal(c.intervalMs, 500);
      assert.equal(c.storeIdPontoVenda, 3);
      assert.equal(
        c.sources.caixa,
        `sqlite:${join(dir, 'caixa.db')}`,
        'relative to the config file',
      );
      assert.equal(c.sources.gestao, 'mariadb://root@127.0.0.1/hiper');
      assert.equal(c.dataDir, join(dir, 'dados'));
      assert.throws(() => loadAgentConfig({ config: join(dir, 'missing.env') }, {}), /--config/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('outbox and state files', () => {
  const payload = (n: number) =>
    buildPayload({
      window: {
        fromMs: Date.UTC(2024, 0, 1, 13) + n * minute,
        toMs: Date.UTC(2024, 0, 1, 13) + (n + 1) * minute,
      },
      offsetMinutes: -180,
      store: { idPontoVenda: 1, idFilial: 7 },
      caixa: null,
      gestao: null,
      warnings: [],
    });

  test('files are named so that lexical order is creation order; attempts live in the name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdv-agent-outbox-'));
    try {
      const outbox = new Outbox(dir);
      for (let i = 0; i < 12; i++) outbox.enqueue(payload(i));
      const list = outbox.list();
      assert.deepEqual(
        list.map((e) => e.seq),
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
      assert.equal(outbox.latestWindowToMs(), Date.parse(payload(11).window.to));
      const failed = outbox.recordFailure(outbox.recordFailure(list[0]));
      assert.equal(failed.attempts, 2);
      assert.match(failed.file, /\.a002\.json\.gz$/);
      assert.equal(outbox.list()[0].file, failed.file, 'still first');
      assert.deepEqual(outbox.read(failed).payload, payload(0));
      outbox.remove(outbox.list()[1]);
      assert.equal(outbox.list().length, 11);
      // A temp file left by a crash is not part of the queue and is cleaned at start.
      writeFileSync(join(outbox.dir, '.000000000099-x.json.gz.1.tmp'), 'torn');
      new Outbox(dir);
      assert.ok(!readdirSync(outbox.dir).some((f) => f.endsWith('.tmp')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('state.json round-trips; a malformed one is AGENT_STATE_INVALID', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdv-agent-state-'));
    try {
      const path = join(dir, 'state.json');
      assert.equal(readState(path), null);
      await writeState(path, { last_sync_to: '2024-05-20T10:00:00-03:00', gestao_pending: [] });
      assert.equal(readState(path)?.last_sync_to, '2024-05-20T10:00:00-03:00');
      writeFileSync(path, '{"last_sync_to": "yesterday"}');
      assert.throws(
        () => readState(path),
        (e: unknown) => e instanceof SyncError && e.code === 'AGENT_STATE_INVALID',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a row that does not fit the payload names the field', () => {
    assert.throws(
      () =>
        buildPayload({
          window: { fromMs: 0, toMs: minute },
          offsetMinutes: -180,
          store: { idPontoVenda: 1, idFilial: 7 },
          caixa: {
            vendas: [{ id_operacao: 'abc', data_hora: '2024-01-01 10:00:00', total: 1 }],
            itens: [],
            pagamentos: [],
            turnos: [],
            turnos_meios: [],
            sangrias: [],
          },
          gestao: null,
          warnings: [],
        }),
      (e: unknown) =>
        e instanceof SyncError &&
        e.code === 'AGENT_PAYLOAD_INVALID' &&
        /vendas\.0\.id_operacao/.test(e.message),
    );
  });
});
