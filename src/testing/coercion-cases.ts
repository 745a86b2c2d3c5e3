import type { CoerceOptions, CoercibleType } from '../protocol/coercion.js';

/**
 * The coercion rule as a table: one row per case, shared by the server's validation tests
 * and the terminal's write-time check tests, so both sides agree case by case.
 * `expect: { error: true }` means the value is refused with the column named.
 */
export type CoercionCase = {
  type: CoercibleType;
  column: string;
  input: unknown;
  expect: { value: unknown } | { error: true };
  options?: CoerceOptions;
  /** What the case shows, for the test name. */
  why: string;
};

const refused = { error: true } as const;

export const coercionCases: readonly CoercionCase[] = [
  // text
  {
    type: 'text',
    column: 'nome',
    input: 'Café',
    expect: { value: 'Café' },
    why: 'a string is kept',
  },
  {
    type: 'text',
    column: 'store_id',
    input: 1,
    expect: { value: '1' },
    why: 'an integer becomes its decimal text',
  },
  {
    type: 'text',
    column: 'id',
    input: 50830100,
    expect: { value: '50830100' },
    why: 'an integer id becomes text',
  },
  {
    type: 'text',
    column: 'store_id',
    input: '1.0',
    expect: { value: '1' },
    why: "SQLite's REAL text of a JS 1 means 1 in an id column",
  },
  {
    type: 'text',
    column: 'venda_id',
    input: '-7.0',
    expect: { value: '-7' },
    why: 'REAL text of a negative id',
  },
  {
    type: 'text',
    column: 'descricao',
    input: '1.0',
    expect: { value: '1.0' },
    why: 'outside id columns "1.0" is just text',
  },
  {
    type: 'text',
    column: 'id',
    input: '1.5',
    expect: { value: '1.5' },
    why: 'a non-integral text id is kept as text',
  },
  {
    type: 'text',
    column: 'nome',
    input: 1.5,
    expect: refused,
    why: 'a fractional number into text is ambiguous',
  },
  {
    type: 'text',
    column: 'nome',
    input: true,
    expect: refused,
    why: 'a boolean into text is ambiguous',
  },
  {
    type: 'text',
    column: 'nome',
    input: { a: 1 },
    expect: refused,
    why: 'an object into text is ambiguous',
  },
  {
    type: 'text',
    column: 'nome',
    input: 'a\u0000b',
    expect: refused,
    why: 'NUL is refused on both engines',
  },
  {
    type: 'text',
    column: 'nome',
    input: 'a\uD800b',
    expect: refused,
    why: 'a lone high surrogate is refused',
  },
  {
    type: 'text',
    column: 'nome',
    input: 'a\uDC00',
    expect: refused,
    why: 'a lone low surrogate is refused',
  },
  {
    type: 'text',
    column: 'nome',
    input: '😀',
    expect: { value: '😀' },
    why: 'a surrogate pair is fine',
  },
  {
    type: 'text',
    column: 'id',
    input: 2 ** 53,
    expect: refused,
    why: 'an unsafe integer is ambiguous',
  },
  // integer
  {
    type: 'integer',
    column: 'quantidade',
    input: 3,
    expect: { value: 3 },
    why: 'an integer is kept',
  },
  {
    type: 'integer',
    column: 'quantidade',
    input: '42',
    expect: { value: 42 },
    why: 'integer text is a number',
  },
  {
    type: 'integer',
    column: 'quantidade',
    input: '-42',
    expect: { value: -42 },
    why: 'negative integer text',
  },
  {
    type: 'integer',
    column: 'quantidade',
    input: 1.5,
    expect: refused,
    why: 'a fraction is not an integer',
  },
  {
    type: 'integer',
    column: 'quantidade',
    input: '1.5',
    expect: refused,
    why: 'fraction text is not an integer',
  },
  {
    type: 'integer',
    column: 'quantidade',
    input: '12abc',
    expect: refused,
    why: 'text that is not a number',
  },
  {
    type: 'integer',
    column: 'quantidade',
    input: 2 ** 53,
    expect: refused,
    why: 'beyond the safe range',
  },
  {
    type: 'integer',
    column: 'quantidade',
    input: 2e15,
    expect: refused,
    options: { counter: true },
    why: 'a counter beyond its bound',
  },
  // number
  {
    type: 'number',
    column: 'preco',
    input: 9.9,
    expect: { value: 9.9 },
    why: 'a finite number is kept',
  },
  {
    type: 'number',
    column: 'preco',
    input: '9.90',
    expect: { value: 9.9 },
    why: 'numeric text is a number',
  },
  {
    type: 'number',
    column: 'preco',
    input: '1e3',
    expect: { value: 1000 },
    why: 'exponent text is a number',
  },
  { type: 'number', column: 'preco', input: 'NaN', expect: refused, why: 'NaN text is refused' },
  { type: 'number', column: 'preco', input: '', expect: refused, why: 'empty text is refused' },
  {
    type: 'number',
    column: 'preco',
    input: '1e400',
    expect: refused,
    why: 'text beyond a double is refused',
  },
  {
    type: 'number',
    column: 'estoque',
    input: 1e308,
    expect: refused,
    options: { counter: true },
    why: 'a counter delta of 1e308 is refused',
  },
  {
    type: 'number',
    column: 'preco',
    input: 1e308,
    expect: { value: 1e308 },
    why: 'a plain number may be large',
  },
  {
    type: 'number',
    column: 'preco',
    input: true,
    expect: refused,
    why: 'a boolean is not a number',
  },
  // decimal (money)
  {
    type: 'decimal',
    column: 'total',
    input: '10.50',
    expect: { value: '10.5' },
    why: 'decimal text normalised',
  },
  {
    type: 'decimal',
    column: 'total',
    input: 10.5,
    expect: { value: '10.5' },
    why: 'a number with few decimals is exact',
  },
  {
    type: 'decimal',
    column: 'total',
    input: '-2.00',
    expect: { value: '-2' },
    why: 'quebra de caixa −2.00',
  },
  {
    type: 'decimal',
    column: 'total',
    input: 0.1 + 0.2,
    expect: refused,
    why: 'binary rounding is refused, not hidden',
  },
  {
    type: 'decimal',
    column: 'total',
    input: '1.005',
    expect: refused,
    why: 'more decimals than the scale',
  },
  {
    type: 'decimal',
    column: 'total',
    input: '1.005',
    options: { scale: 3 },
    expect: { value: '1.005' },
    why: 'scale 3 keeps three decimals',
  },
  {
    type: 'decimal',
    column: 'total',
    input: '-0.00',
    expect: { value: '0' },
    why: 'negative zero is zero',
  },
  { type: 'decimal', column: 'total', input: '1,50', expect: refused, why: 'a comma is ambiguous' },
  // boolean
  { type: 'boolean', column: 'ativo', input: 1, expect: { value: true }, why: '1 is true' },
  { type: 'boolean', column: 'ativo', input: '0', expect: { value: false }, why: '"0" is false' },
  {
    type: 'boolean',
    column: 'ativo',
    input: 'false',
    expect: { value: false },
    why: '"false" is false',
  },
  { type: 'boolean', column: 'ativo', input: 2, expect: refused, why: '2 is ambiguous' },
  { type: 'boolean', column: 'ativo', input: 'sim', expect: refused, why: '"sim" is ambiguous' },
  // timestamp
  {
    type: 'timestamp',
    column: 'data_hora',
    input: '2026-11-30T12:00:00Z',
    expect: { value: '2026-11-30T12:00:00.000Z' },
    why: 'UTC kept',
  },
  {
    type: 'timestamp',
    column: 'data_hora',
    input: '2026-11-30T12:00:00-03:00',
    expect: { value: '2026-11-30T15:00:00.000Z' },
    why: 'an offset is applied',
  },
  {
    type: 'timestamp',
    column: 'data_hora',
    input: '2026-11-30 12:00:00',
    options: { timeZone: 'America/Sao_Paulo' },
    expect: { value: '2026-11-30T15:00:00.000Z' },
    why: "naive time read in the store's zone",
  },
  {
    type: 'timestamp',
    column: 'data_hora',
    input: '2026-11-30 12:00:00',
    expect: { value: '2026-11-30T12:00:00.000Z' },
    why: 'naive time without a zone setting is UTC',
  },
  {
    type: 'timestamp',
    column: 'data_hora',
    input: '2026-01-15T08:30:00',
    options: { timeZone: 'America/Manaus' },
    expect: { value: '2026-01-15T12:30:00.000Z' },
    why: 'another store zone',
  },
  {
    type: 'timestamp',
    column: 'data_hora',
    input: 1764504000000,
    expect: { value: '2025-11-30T12:00:00.000Z' },
    why: 'epoch milliseconds',
  },
  {
    type: 'timestamp',
    column: 'data_hora',
    input: 'yesterday',
    expect: refused,
    why: 'words are refused',
  },
  {
    type: 'timestamp',
    column: 'data_hora',
    input: '2026-02-31 10:00:00',
    expect: refused,
    why: 'a day that does not exist',
  },
  {
    type: 'timestamp',
    column: 'data_hora',
    input: 1.5,
    expect: refused,
    why: 'fractional epoch is refused',
  },
  // json
  {
    type: 'json',
    column: 'extra',
    input: { a: [1, 'x'] },
    expect: { value: { a: [1, 'x'] } },
    why: 'json kept',
  },
  {
    type: 'json',
    column: 'extra',
    input: { a: 'x\u0000' },
    expect: refused,
    why: 'NUL inside json refused',
  },
  {
    type: 'json',
    column: 'extra',
    input: { 'k\uD800': 1 },
    expect: refused,
    why: 'lone surrogate in a json key refused',
  },
];
