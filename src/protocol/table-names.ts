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

  /** `<entity>` forms accepted in seed 003's event types: names, aliases and their singulars. */
  entityNames(): Map<string, TableDef> {
    const entities = new Map<string, TableDef>();
    for (const [name, table] of this.byName) {
      entities.set(name, table);
      if (name.endsWith('ies')) entities.set(`${name.slice(0, -3)}y`, table);
      else if (name.endsWith('s')) entities.set(name.slice(0, -1), table);
    }
    return entities;
  }
}
