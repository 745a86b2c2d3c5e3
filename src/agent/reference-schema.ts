import type { SourceDialect } from './sources/source-db.js';

/**
 * The reference schema the shipped query files (`config/agent/*.sql`) read: the
 * part of HiperPdv (caixa) and Hiper (gestao) that seed 001 uses, with the same
 * table and column names. Both databases have the same tables; in `gestao`,
 * `operacao_pdv.origem` (2 = store sale, invoiced) and `id_filial` are filled.
 * Operation types (`operacao_pdv.operacao`): 1 sale, 9 shift closure (its payment
 * lines are the declared amounts), 4 cash withdrawal (sangria).
 * Documented in docs/agent.md; the tests and the benchmark create it.
 */
export function referenceSchemaDdl(dialect: SourceDialect): string[] {
  const t = {
    mssql: {
      id: 'INT',
      text: 'NVARCHAR',
      ts: 'DATETIME2(3)',
      money: 'DECIMAL(12,2)',
      qty: 'DECIMAL(12,3)',
      flag: 'BIT',
      uuid: 'UNIQUEIDENTIFIER',
    },
    postgres: {
      id: 'INTEGER',
      text: 'VARCHAR',
      ts: 'TIMESTAMP(3)',
      money: 'NUMERIC(12,2)',
      qty: 'NUMERIC(12,3)',
      flag: 'SMALLINT',
      uuid: 'VARCHAR(36)',
    },
    mysql: {
      id: 'INT',
      text: 'VARCHAR',
      ts: 'DATETIME(3)',
      money: 'DECIMAL(12,2)',
      qty: 'DECIMAL(12,3)',
      flag: 'TINYINT',
      uuid: 'VARCHAR(36)',
    },
    sqlite: {
      id: 'INTEGER',
      text: 'TEXT',
      ts: 'TEXT',
      money: 'NUMERIC',
      qty: 'NUMERIC',
      flag: 'INTEGER',
      uuid: 'TEXT',
    },
  }[dialect];
  const v = (n: number) => (dialect === 'sqlite' ? t.text : `${t.text}(${n})`);
  return [
    `CREATE TABLE usuario (id_usuario ${t.id} PRIMARY KEY, nome ${v(200)} NOT NULL, login ${v(50)})`,
    `CREATE TABLE produto (id_produto ${t.id} PRIMARY KEY, nome ${v(500)} NOT NULL)`,
    `CREATE TABLE finalizador_pdv (id_finalizador ${t.id} PRIMARY KEY, nome ${v(100)} NOT NULL)`,
    `CREATE TABLE turno (
       id_turno ${t.uuid} PRIMARY KEY,
       id_ponto_venda ${t.id} NOT NULL,
       id_usuario ${t.id},
       data_hora_inicio ${t.ts} NOT NULL,
       data_hora_termino ${t.ts},
       fechado ${t.flag} NOT NULL DEFAULT 0)`,
    `CREATE TABLE operacao_pdv (
       id_operacao ${t.id} PRIMARY KEY,
       operacao ${t.id} NOT NULL,
       id_ponto_venda ${t.id},
       id_filial ${t.id},
       origem ${t.id},
       id_turno ${t.uuid},
       id_usuario ${t.id},
       data_hora_inicio ${t.ts},
       data_hora_termino ${t.ts} NOT NULL,
       valor_total ${t.money} NOT NULL DEFAULT 0,
       desconto ${t.money},
       cancelado ${t.flag} NOT NULL DEFAULT 0,
       observacao ${v(500)})`,
    `CREATE TABLE item_operacao_pdv (
       id_item_operacao_pdv ${t.id} PRIMARY KEY,
       id_operacao ${t.id} NOT NULL,
       item ${t.id} NOT NULL,
       id_produto ${t.id} NOT NULL,
       quantidade ${t.qty} NOT NULL,
       preco_unitario ${t.money},
       valor_total_liquido ${t.money} NOT NULL,
       cancelado ${t.flag} NOT NULL DEFAULT 0)`,
    `CREATE TABLE finalizador_operacao_pdv (
       id_finalizador_operacao_pdv ${t.id} PRIMARY KEY,
       id_operacao ${t.id} NOT NULL,
       id_finalizador ${t.id} NOT NULL,
       valor ${t.money} NOT NULL,
       parcela ${t.id})`,
    `CREATE INDEX ix_operacao_termino ON operacao_pdv (data_hora_termino)`,
    `CREATE INDEX ix_operacao_turno ON operacao_pdv (id_turno)`,
    `CREATE INDEX ix_item_operacao ON item_operacao_pdv (id_operacao)`,
    `CREATE INDEX ix_finalizador_operacao ON finalizador_operacao_pdv (id_operacao)`,
  ];
}
