import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadServerConfig } from './config.js';
import { StoreTimeZones, type DayRange } from './store-time-zones.js';

const iso = (r: DayRange) => [r.from?.toISOString() ?? null, r.to?.toISOString() ?? null];

test("a day is the store's local day, through the zone: summer-time days last 23 and 25 hours", () => {
  const zones = new StoreTimeZones('America/Sao_Paulo', { 'loja-am': 'America/Manaus' });
  const day = (date: string, store: string | null) =>
    zones.dayRanges(date, date, store, true).map(iso);
  assert.deepEqual(day('2026-11-30', 'loja-sp'), [
    ['2026-11-30T03:00:00.000Z', '2026-12-01T03:00:00.000Z'],
  ]);
  assert.deepEqual(day('2026-11-30', 'loja-am'), [
    ['2026-11-30T04:00:00.000Z', '2026-12-01T04:00:00.000Z'],
  ]);
  // 2018-11-04: São Paulo's clocks went from 00:00 to 01:00, so the day began at 01:00 (UTC-2).
  assert.deepEqual(day('2018-11-04', 'loja-sp'), [
    ['2018-11-04T03:00:00.000Z', '2018-11-05T02:00:00.000Z'],
  ]);
  // 2019-02-16: summer time ended at midnight; 23:00–24:00 happened twice.
  assert.deepEqual(day('2019-02-16', 'loja-sp'), [
    ['2019-02-16T02:00:00.000Z', '2019-02-17T03:00:00.000Z'],
  ]);
  // The last representable day has no upper bound; an open range has one bound.
  assert.deepEqual(zones.dayRanges('9999-12-31', '9999-12-31', 'loja-sp', true).map(iso), [
    ['9999-12-31T03:00:00.000Z', null],
  ]);
  assert.deepEqual(zones.dayRanges(undefined, '2026-11-30', 'loja-am', true).map(iso), [
    [null, '2026-12-01T04:00:00.000Z'],
  ]);
});

test('across every store, each zone gets its own range; global tables use the server zone', () => {
  const zones = new StoreTimeZones('America/Sao_Paulo', {
    a: 'America/Manaus',
    b: 'America/Sao_Paulo',
    c: 'America/Manaus',
    d: 'America/Rio_Branco',
  });
  const ranges = zones.dayRanges('2026-11-30', '2026-11-30', null, true);
  assert.deepEqual(
    ranges.map((r) => [r.stores, r.except, ...iso(r)]),
    [
      [null, ['a', 'c', 'd'], '2026-11-30T03:00:00.000Z', '2026-12-01T03:00:00.000Z'],
      [['a', 'c'], [], '2026-11-30T04:00:00.000Z', '2026-12-01T04:00:00.000Z'],
      [['d'], [], '2026-11-30T05:00:00.000Z', '2026-12-01T05:00:00.000Z'],
    ],
  );
  assert.deepEqual(
    zones.dayRanges('2026-11-30', '2026-11-30', null, false).map((r) => [r.stores, r.except]),
    [[null, []]],
  );
});

test('the deprecated fixed offset, when set, still wins for date filters', () => {
  const zones = new StoreTimeZones('America/Sao_Paulo', { a: 'America/Manaus' }, '+00:00');
  assert.deepEqual(zones.dayRanges('2018-11-04', '2018-11-04', null, true).map(iso), [
    ['2018-11-04T00:00:00.000Z', '2018-11-05T00:00:00.000Z'],
  ]);
  // Naive timestamps are still read in the store's zone.
  assert.equal(zones.of('a'), 'America/Manaus');
});

test('time zone settings are validated, naming the flag and the variable', () => {
  const config = loadServerConfig(
    {},
    { PDV_SYNC_STORE_TIME_ZONES: 'loja-01=America/Manaus, loja-02 = America/Sao_Paulo' },
  );
  assert.equal(config.timeZone, 'America/Sao_Paulo');
  assert.deepEqual(config.storeTimeZones, {
    'loja-01': 'America/Manaus',
    'loja-02': 'America/Sao_Paulo',
  });
  assert.equal(config.dateFilterOffset, undefined);
  assert.throws(
    () => loadServerConfig({ timeZone: 'America/Brasilia' }, {}),
    /--time-zone \/ PDV_SYNC_TIME_ZONE: an IANA time zone/,
  );
  assert.throws(
    () => loadServerConfig({}, { PDV_SYNC_STORE_TIME_ZONES: 'loja-01=Brasilia' }),
    /--store-time-zones \/ PDV_SYNC_STORE_TIME_ZONES: loja-01=Brasilia: store=IANA time zone/,
  );
});
