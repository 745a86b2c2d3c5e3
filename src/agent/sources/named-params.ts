/** How a driver spells a parameter. */
export type ParamStyle = 'at-name' | 'dollar-n' | 'question';

export type CompiledQuery = {
  sql: string;
  /** For `dollar-n` and `question`: the values in order; for `at-name`: empty. */
  values: unknown[];
  /** For `at-name`: the names used. */
  names: string[];
};

/**
 * Translates the named parameters of a query file (`:from`, `:to`, `:store`)
 * into the driver's own form: `@from` (mssql), `$1` (pg: one number per name),
 * `?` (mysql2, better-sqlite3: one value per occurrence). Text inside quotes,
 * quoted identifiers, comments and PostgreSQL casts (`::date`) is left alone.
 * A name without a value throws, naming it.
 */
export function compileNamedParams(
  sql: string,
  params: Record<string, unknown>,
  style: ParamStyle,
): CompiledQuery {
  let out = '';
  const values: unknown[] = [];
  const names: string[] = [];
  const numbered = new Map<string, number>();
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      while (j < n) {
        if (sql[j] === close) {
          if (sql[j + 1] === close && close !== ']') j += 2;
          else break;
        } else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && next === '-') {
      const j = sql.indexOf('\n', i);
      const end = j === -1 ? n : j;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '/' && next === '*') {
      const j = sql.indexOf('*/', i + 2);
      const end = j === -1 ? n : j + 2;
      out += sql.slice(i, end);
      i = end;
    } else if (c === ':' && next === ':') {
      out += '::';
      i += 2;
    } else if (c === ':' && next !== undefined && /[A-Za-z_]/.test(next)) {
      let j = i + 1;
      while (j < n && /\w/.test(sql[j])) j++;
      const name = sql.slice(i + 1, j);
      if (!(name in params)) throw new RangeError(`query parameter :${name} has no value`);
      if (style === 'at-name') {
        out += `@${name}`;
        if (!names.includes(name)) names.push(name);
      } else if (style === 'dollar-n') {
        let k = numbered.get(name);
        if (k === undefined) {
          values.push(params[name]);
          k = values.length;
          numbered.set(name, k);
        }
        out += `$${k}`;
      } else {
        values.push(params[name]);
        out += '?';
      }
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return { sql: out, values, names };
}
