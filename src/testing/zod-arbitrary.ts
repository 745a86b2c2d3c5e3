import fc from 'fast-check';

/**
 * Builds a fast-check arbitrary producing values that a zod 4 schema accepts,
 * by walking `schema._zod.def`. Supported: object (with catchall), string (length,
 * regex, iso date/datetime), number (int/safeint, bounds), boolean, enum, literal,
 * array, record, union, optional, nullable, default, pipe/transform (input side),
 * readonly, lazy, null, unknown/any. Anything else throws, so a schema change
 * that the fuzzers cannot follow is noticed instead of silently under-tested.
 */
export type ZodArbitraryOptions = {
  /** Per schema instance, the arbitrary to use instead of the generated one (e.g. known table names). */
  overrides?: ReadonlyMap<unknown, fc.Arbitrary<unknown>>;
  /** Upper bound for arrays and records without a smaller max (default 4). */
  maxItems?: number;
};

type CheckDef = {
  check: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
  maximum?: number;
  length?: number;
  value?: number | bigint;
  inclusive?: boolean;
};

type Def = {
  type: string;
  checks?: { _zod: { def: CheckDef } }[];
  shape?: Record<string, unknown>;
  catchall?: unknown;
  element?: unknown;
  keyType?: unknown;
  valueType?: unknown;
  innerType?: unknown;
  in?: unknown;
  options?: unknown[];
  values?: unknown[];
  entries?: Record<string, string | number>;
  format?: string;
  pattern?: RegExp;
  getter?: () => unknown;
};

type Parseable = { safeParse(value: unknown): { success: boolean } };

function defOf(schema: unknown): Def {
  const internals = (schema as { _zod?: { def?: Def } } | null)?._zod;
  if (!internals?.def) throw new Error('zodArbitrary: not a zod 4 schema');
  return internals.def;
}

function accepts(schema: unknown, value: unknown): boolean {
  return (schema as Parseable).safeParse(value).success;
}

/** Whether an object key may be left out: optional, or filled by a default. */
function isOptional(schema: unknown): boolean {
  const type = defOf(schema).type;
  return type === 'optional' || type === 'default' || type === 'prefault';
}

/** The checks of a schema; `z.iso.datetime()` or `z.int()` carry their own check in the def itself. */
function checksOf(def: Def): CheckDef[] {
  const own = (def as Def & { check?: string }).check ? [def as unknown as CheckDef] : [];
  return [...own, ...(def.checks ?? []).map((c) => c._zod.def)];
}

/** Mostly plausible dates, sometimes anywhere in years 0000–9999. */
const dates = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.date({
      min: new Date('1990-01-01T00:00:00Z'),
      max: new Date('2040-12-31T23:59:59Z'),
      noInvalidDate: true,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.date({
      min: new Date('0000-01-01T00:00:00.000Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    }),
  },
);

function isoDateTime(): fc.Arbitrary<string> {
  return fc
    .tuple(dates, fc.constantFrom('Z', '+00:00', '-03:00', '+05:30'), fc.constantFrom(0, 3, 6))
    .map(([d, zone, digits]) => {
      const base = d.toISOString().slice(0, 19);
      const fraction = digits
        ? `.${String(d.getUTCMilliseconds()).padStart(3, '0')}000`.slice(0, digits + 1)
        : '';
      return `${base}${fraction}${zone}`;
    });
}

function stringArbitrary(schema: unknown, def: Def): fc.Arbitrary<string> {
  let min = 0;
  let max = Infinity;
  let base: fc.Arbitrary<string> | null = null;
  for (const c of checksOf(def)) {
    if (c.check === 'min_length') min = Math.max(min, c.minimum ?? 0);
    else if (c.check === 'max_length') max = Math.min(max, c.maximum ?? Infinity);
    else if (c.check === 'length_equals') min = max = c.length ?? 0;
    else if (c.check === 'string_format') {
      if (c.format === 'regex' && c.pattern) base = fc.stringMatching(c.pattern);
      else if (c.format === 'datetime') base = isoDateTime();
      else if (c.format === 'date') base = dates.map((d) => d.toISOString().slice(0, 10));
      else throw new Error(`zodArbitrary: unsupported string format ${c.format}`);
    } else if (c.check !== 'custom')
      // A refinement (`custom`) only narrows: generated strings may break it, which the models expect.
      throw new Error(`zodArbitrary: unsupported string check ${c.check}`);
  }
  if (!base) {
    const maxLength = Math.min(max, 40);
    const units = ['grapheme', 'grapheme-ascii', 'binary'] as const;
    base = fc.oneof(
      {
        weight: 8,
        arbitrary: fc
          .constantFrom(...units)
          .chain((unit) => fc.string({ unit, minLength: min, maxLength })),
      },
      // The boundaries, where off-by-one limits live.
      { weight: 1, arbitrary: fc.constantFrom('a'.repeat(min), 'é'.repeat(Math.min(max, 5000))) },
    );
  }
  return base.filter((s) => s.length >= min && s.length <= max && accepts(schema, s));
}

function numberArbitrary(schema: unknown, def: Def): fc.Arbitrary<number> {
  let int = false;
  let min = -Number.MAX_VALUE;
  let max = Number.MAX_VALUE;
  let minExcluded = false;
  let maxExcluded = false;
  for (const c of checksOf(def)) {
    if (c.check === 'number_format') {
      if (c.format === 'safeint') {
        int = true;
        min = Math.max(min, Number.MIN_SAFE_INTEGER);
        max = Math.min(max, Number.MAX_SAFE_INTEGER);
      } else if (c.format === 'int32') {
        int = true;
        min = Math.max(min, -(2 ** 31));
        max = Math.min(max, 2 ** 31 - 1);
      } else if (c.format !== 'float64')
        throw new Error(`zodArbitrary: unsupported number format ${c.format}`);
    } else if (c.check === 'greater_than') {
      min = Math.max(min, Number(c.value));
      minExcluded = !c.inclusive;
    } else if (c.check === 'less_than') {
      max = Math.min(max, Number(c.value));
      maxExcluded = !c.inclusive;
    } else throw new Error(`zodArbitrary: unsupported number check ${c.check}`);
  }
  const arb: fc.Arbitrary<number> = int
    ? fc
        .bigInt({
          min: BigInt(Math.ceil(minExcluded ? min + 1 : min)),
          max: BigInt(Math.floor(maxExcluded ? max - 1 : max)),
        })
        .map(Number)
    : fc.double({ min, max, minExcluded, maxExcluded, noNaN: true, noDefaultInfinity: true });
  return arb.filter((n) => accepts(schema, n));
}

function lengthBounds(def: Def, maxItems: number): { minLength: number; maxLength: number } {
  let minLength = 0;
  let maxLength = maxItems;
  for (const c of def.checks?.map((x) => x._zod.def) ?? []) {
    if (c.check === 'min_length') minLength = c.minimum ?? 0;
    else if (c.check === 'max_length') maxLength = Math.min(maxLength, c.maximum ?? maxLength);
    else if (c.check === 'length_equals') minLength = maxLength = c.length ?? 0;
  }
  return { minLength, maxLength: Math.max(minLength, maxLength) };
}

export function zodArbitrary(
  schema: unknown,
  options: ZodArbitraryOptions = {},
): fc.Arbitrary<unknown> {
  const override = options.overrides?.get(schema);
  if (override) return override;
  const maxItems = options.maxItems ?? 4;
  const sub = (s: unknown) => zodArbitrary(s, options);
  const def = defOf(schema);
  switch (def.type) {
    case 'string':
      return stringArbitrary(schema, def);
    case 'number':
      return numberArbitrary(schema, def);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'unknown':
    case 'any':
      return fc.jsonValue({ maxDepth: 2 });
    case 'literal':
      return fc.constantFrom(...(def.values ?? []));
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries ?? {}));
    case 'optional':
      return fc.option(sub(def.innerType), { nil: undefined });
    case 'nullable':
      return fc.option(sub(def.innerType), { nil: null });
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return sub(def.innerType);
    case 'pipe':
      return sub(def.in);
    case 'lazy':
      if (!def.getter) throw new Error('zodArbitrary: lazy without getter');
      return sub(def.getter());
    case 'union':
      return fc.oneof(...(def.options ?? []).map(sub));
    case 'array':
      return fc.array(sub(def.element), lengthBounds(def, maxItems));
    case 'record': {
      const keys = sub(def.keyType) as fc.Arbitrary<string>;
      return fc.dictionary(keys, sub(def.valueType), { maxKeys: maxItems });
    }
    case 'object': {
      const shape = def.shape ?? {};
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, field] of Object.entries(shape)) model[key] = sub(field);
      const requiredKeys = Object.keys(shape).filter((k) => !isOptional(shape[k]));
      const fixed = fc.record(model, { requiredKeys });
      const catchall = def.catchall ? defOf(def.catchall).type : 'never';
      if (catchall === 'never') return fixed;
      const extraKey = fc.string({ maxLength: 12 }).filter((k) => !(k in shape));
      const extras = fc.dictionary(extraKey, sub(def.catchall), { maxKeys: 3 });
      return fc.tuple(fixed, extras).map(([f, e]) => ({ ...e, ...f }));
    }
    default:
      throw new Error(`zodArbitrary: unsupported zod type ${def.type}`);
  }
}
