import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { toLocalNaive } from '../agent/local-time.js';
import { referenceSchemaDdl } from '../agent/reference-schema.js';
import { postgresUrl } from './test-database.js';

/** The machine's real MariaDB; each test run creates its own databases. */
export const mariadbUrl = process.env['PDV_SYNC_TEST_MARIADB_URL'] ?? 'mysql://root@127.0.0.1:3306';

export type StoreDbKind = 'sqlite' | 'postgres' | 'mariadb';
export type StoreDbName = 'caixa' | 'gestao';
export type Row = Record<string, unknown>;

/** A store's two databases (caixa, gestao) holding the reference schema, in a real engine. */
export type StoreDatabases = {
  kind: StoreDbKind;
  caixaUrl: string;
  gestaoUrl: string;
  insert(db: StoreDbName, table: string, rows: Row[]): Promise<void>;
  close(): Promise<void>;
};

type Writer = { exec(sql: string, values: unknown[]): Promise<void>; close(): Promise<void> };

async function sqliteWriter(path: string): Promise<Writer> {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (const ddl of referenceSchemaDdl('sqlite')) db.exec(ddl);
  return {
    exec: async (sql, values) => void db.prepare(sql).run(...values),
    close: async () => {
      db.close();
    },
  };
}

/** Fresh caixa and gestao databases with the reference schema, dropped by `close()`. */
export async function createStoreDatabases(kind: StoreDbKind): Promise<StoreDatabases> {
  const tag = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const writers = {} as Record<StoreDbName, Writer>;
  const urls = {} as Record<StoreDbName, string>;
  let dropAll: () => Promise<void>;
  let placeholder: (i: number) => string = () => '?';
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'pdv-agent-src-'));
    for (const name of ['caixa', 'gestao'] as const) {
      const path = join(dir, `${name}.db`);
      writers[name] = await sqliteWriter(path);
      urls[name] = `sqlite:${path}`;
    }
    dropAll = async () => rmSync(dir, { recursive: true, force: true });
  } else if (kind === 'postgres') {
    placeholder = (i) => `$${i + 1}`;
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    const schemas: string[] = [];
    for (const name of ['caixa', 'gestao'] as const) {
      const schema = `agent_${name}_${tag}`;
      schemas.push(schema);
      await admin.query(`CREATE SCHEMA ${schema}`);
      const url = `${postgresUrl}${postgresUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      for (const ddl of referenceSchemaDdl('postgres')) await client.query(ddl);
      writers[name] = {
        exec: async (sql, values) => void (await client.query(sql, values)),
        close: () => client.end(),
      };
      urls[name] = url;
    }
    dropAll = async () => {
      for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await admin.end();
    };
  } else {
    const admin = await mysql.createConnection({ uri: mariadbUrl });
    const dbs: string[] = [];
    for (const name of ['caixa', 'gestao'] as const) {
      const database = `pdv_agent_${tag}_${name}`;
      dbs.push(database);
      await admin.query(`CREATE DATABASE ${database}`);
      const url = `${mariadbUrl.replace(/^mysql:/, 'mariadb:')}/${database}`;
      const conn = await mysql.createConnection({ uri: `${mariadbUrl}/${database}` });
      for (const ddl of referenceSchemaDdl('mysql')) await conn.query(ddl);
      writers[name] = {
        exec: async (sql, values) => void (await conn.query(sql, values)),
        close: () => conn.end(),
      };
      urls[name] = url;
    }
    dropAll = async () => {
      for (const d of dbs) await admin.query(`DROP DATABASE IF EXISTS ${d}`);
      await admin.end();
    };
  }
  return {
    kind,
    caixaUrl: urls.caixa,
    gestaoUrl: urls.gestao,
    async insert(db, table, rows) {
      if (rows.length === 0) return;
      const cols = Object.keys(rows[0]);
      const chunk = Math.max(1, Math.floor(900 / cols.length));
      for (let i = 0; i < rows.length; i += chunk) {
        const part = rows.slice(i, i + chunk);
        const values: unknown[] = [];
        const tuples = part.map((r) => {
          const marks = cols.map((c) => {
            values.push(r[c] ?? null);
            return placeholder(values.length - 1);
          });
          return `(${marks.join(', ')})`;
        });
        await writers[db].exec(
          `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples.join(', ')}`,
          values,
        );
      }
    },
    async close() {
      await writers.caixa.close();
      await writers.gestao.close();
      await dropAll();
    },
  };
}

export const offsetMinutes = -180;
export const at = (ms: number): string => toLocalNaive(ms, offsetMinutes);

/** usuario, produto and finalizador_pdv rows, the same in both databases. */
export async function seedCatalog(dbs: StoreDatabases): Promise<void> {
  for (const name of ['caixa', 'gestao'] as const) {
    await dbs.insert(name, 'usuario', [
      { id_usuario: 1, nome: 'Maria', login: 'maria' },
      { id_usuario: 2, nome: 'João', login: 'joao' },
    ]);
    await dbs.insert(
      name,
      'produto',
      Array.from({ length: 20 }, (_, i) => ({ id_produto: i + 1, nome: `Produto ${i + 1}` })),
    );
    await dbs.insert(name, 'finalizador_pdv', [
      { id_finalizador: 1, nome: 'Dinheiro' },
      { id_finalizador: 2, nome: 'Credito' },
    ]);
  }
}

export type SeededSale = {
  canal: 'HIPER_CAIXA' | 'HIPER_LOJA';
  id: number;
  atMs: number;
  total: number;
};

/**
 * `count` sales (2 items, 1 payment each) spread evenly over `[fromMs, fromMs + spreadMs)`,
 * ids from `firstId`. caixa sales belong to `turno` of store 1; gestao sales have
 * origem = 2 and id_filial 7. Returns what was written, for the assertions.
 */
export async function seedSales(
  dbs: StoreDatabases,
  o: {
    db: StoreDbName;
    firstId: number;
    count: number;
    fromMs: number;
    spreadMs: number;
    turno?: string;
  },
): Promise<SeededSale[]> {
  const ops: Row[] = [];
  const items: Row[] = [];
  const pays: Row[] = [];
  const sales: SeededSale[] = [];
  for (let i = 0; i < o.count; i++) {
    const id = o.firstId + i;
    const atMs = Math.floor((o.fromMs + (o.spreadMs * i) / o.count) / 1000) * 1000;
    const p1 = (id % 20) + 1;
    const total = 10 + (id % 7) + 2.5;
    ops.push({
      id_operacao: id,
      operacao: 1,
      id_ponto_venda: o.db === 'caixa' ? 1 : null,
      id_filial: o.db === 'gestao' ? 7 : null,
      origem: o.db === 'gestao' ? 2 : null,
      id_turno: o.db === 'caixa' ? (o.turno ?? 'T1') : null,
      id_usuario: 1 + (id % 2),
      data_hora_inicio: at(atMs - 30_000),
      data_hora_termino: at(atMs),
      valor_total: total,
      desconto: 0,
      cancelado: 0,
    });
    items.push(
      {
        id_item_operacao_pdv: id * 10 + 1,
        id_operacao: id,
        item: 1,
        id_produto: p1,
        quantidade: 1,
        preco_unitario: 10,
        valor_total_liquido: 10,
        cancelado: 0,
      },
      {
        id_item_operacao_pdv: id * 10 + 2,
        id_operacao: id,
        item: 2,
        id_produto: ((p1 + 3) % 20) + 1,
        quantidade: 1.5,
        preco_unitario: total - 10,
        valor_total_liquido: total - 10,
        cancelado: 0,
      },
    );
    pays.push({
      id_finalizador_operacao_pdv: id * 10 + 1,
      id_operacao: id,
      id_finalizador: 1 + (id % 2),
      valor: total,
      parcela: id % 2 ? 3 : null,
    });
    sales.push({ canal: o.db === 'caixa' ? 'HIPER_CAIXA' : 'HIPER_LOJA', id, atMs, total });
  }
  await dbs.insert(o.db, 'operacao_pdv', ops);
  await dbs.insert(o.db, 'item_operacao_pdv', items);
  await dbs.insert(o.db, 'finalizador_operacao_pdv', pays);
  return sales;
}

/** Opens shift `id` of store 1 (caixa) at `openedMs`. */
export async function openTurno(dbs: StoreDatabases, id: string, openedMs: number): Promise<void> {
  await dbs.insert('caixa', 'turno', [
    {
      id_turno: id,
      id_ponto_venda: 1,
      id_usuario: 1,
      data_hora_inicio: at(openedMs),
      data_hora_termino: null,
      fechado: 0,
    },
  ]);
}

/** Cash withdrawal (operation 4) and closure (operation 9, declaring `declared` in cash). */
export async function sangria(
  dbs: StoreDatabases,
  id: number,
  turno: string,
  atMs: number,
  valor: number,
): Promise<void> {
  await dbs.insert('caixa', 'operacao_pdv', [
    {
      id_operacao: id,
      operacao: 4,
      id_ponto_venda: 1,
      id_turno: turno,
      id_usuario: 1,
      data_hora_termino: at(atMs),
      valor_total: valor,
      cancelado: 0,
      observacao: 'Sangria para o cofre',
    },
  ]);
}

export async function closeTurno(
  dbs: StoreDatabases,
  id: number,
  turno: string,
  atMs: number,
  declared: number,
): Promise<void> {
  await dbs.insert('caixa', 'operacao_pdv', [
    {
      id_operacao: id,
      operacao: 9,
      id_ponto_venda: 1,
      id_turno: turno,
      id_usuario: 1,
      data_hora_termino: at(atMs),
      valor_total: declared,
      cancelado: 0,
    },
  ]);
  await dbs.insert('caixa', 'finalizador_operacao_pdv', [
    {
      id_finalizador_operacao_pdv: id * 10 + 9,
      id_operacao: id,
      id_finalizador: 1,
      valor: declared,
      parcela: null,
    },
  ]);
}
