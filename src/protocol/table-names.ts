import type { SyncSchema, TableDef } from './sync-schema.js';

/** Resolves table names and aliases (seed 003's `products`, `orders`...) to their declaration. */
export class TableNames {
  private readonly byName = new Map<string, TableDef>();

  constructor(readonly schema: SyncSchema) {
    for (const t of schema.tables) for (const n of [t.name, ...t.aliases]) this.byName.set(n, t);
  }

  resolve(name: string): TableDef | undefined {
    return this.byName.get(name);
  }

  get tables(): readonly TableDef[] {
    return this.schema.tables;
  }

  /**
   * `<entity>` forms accepted in single events' types (`<entity>_created|_updated|_deleted`):
   * names, aliases and their singulars — Portuguese (`fornecedores` → `fornecedor`,
   * `notas_fiscais` → `nota_fiscal`, `itens_venda` → `item_venda`) and English (`supplies` →
   * `supply`). The naive singulars earlier versions produced (`fornecedore`, `notas_fiscai`)
   * stay accepted for clients written against them, but are not listed (`acceptedEntityNames`).
   */
  entityNames(): Map<string, TableDef> {
    const entities = new Map<string, TableDef>();
    for (const [name, table] of this.byName)
      for (const form of [name, ...singularsOf(name), naiveSingular(name)])
        if (!entities.has(form)) entities.set(form, table);
    return entities;
  }

  /** The entity forms to advertise: names, aliases and their correct singulars. */
  acceptedEntityNames(): string[] {
    const out = new Set<string>();
    for (const name of this.byName.keys()) for (const f of [name, ...singularsOf(name)]) out.add(f);
    return [...out];
  }
}

/** The singular of one word: Portuguese rules first, then English `-ies`. */
function singularWord(word: string): string {
  if (word.length <= 2 || !word.endsWith('s')) return word;
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`; // supplies → supply
  if (word.endsWith('ões') || word.endsWith('ães')) return `${word.slice(0, -3)}ão`; // promoções → promoção
  if (/[aeiou]is$/.test(word) && !word.endsWith('eis')) return `${word.slice(0, -2)}l`; // fiscais → fiscal
  if (word.endsWith('éis')) return `${word.slice(0, -3)}el`; // papéis → papel
  if (word.endsWith('ns')) return `${word.slice(0, -2)}m`; // itens → item
  if (/[rzs]es$/.test(word)) return word.slice(0, -2); // fornecedores → fornecedor
  return word.slice(0, -1); // produtos → produto, orders → order
}

/** Singulars of a table name: every plural word made singular (`notas_fiscais` → `nota_fiscal`). */
export function singularsOf(name: string): string[] {
  const singular = name.split('_').map(singularWord).join('_');
  return singular === name ? [] : [singular];
}

/** The singular earlier versions derived (drop a final `s`, `-ies` → `-y`): kept for compatibility. */
function naiveSingular(name: string): string {
  if (name.endsWith('ies')) return `${name.slice(0, -3)}y`;
  if (name.endsWith('s')) return name.slice(0, -1);
  return name;
}
