/**
 * Strings a database refuses: PostgreSQL stores no NUL in text or jsonb, and neither
 * engine stores a lone UTF-16 surrogate the same way (SQLite keeps U+FFFD, PostgreSQL
 * refuses the JSON). A payload carrying one is refused with 400 naming the field, so
 * the agent dead-letters it instead of resending a payload that would fail forever.
 */
// eslint-disable-next-line no-control-regex
const badText = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type BadText = { path: string; message: string };

/** What a string holds that cannot be stored, or null. */
function problemOf(value: string): string | null {
  const m = badText.exec(value);
  if (!m) return null;
  return m[0] === '\u0000' ? 'contains a NUL character' : 'contains a lone UTF-16 surrogate';
}

/**
 * The first string (value or key) of a parsed JSON body that cannot be stored, with its
 * path (`body.vendas.0.itens.1.nome`). Walks with an explicit stack: bodies nest as
 * deep as the JSON parser allows, deeper than a recursive walk's stack.
 */
export function findBadText(body: unknown, root = 'body'): BadText | null {
  const stack: [unknown, string][] = [[body, root]];
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, string];
    if (typeof value === 'string') {
      const problem = problemOf(value);
      if (problem) return { path, message: problem };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}.${i}`]);
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        const keyProblem = problemOf(key);
        if (keyProblem)
          return { path: `${path}.${JSON.stringify(key)}`, message: `key ${keyProblem}` };
        stack.push([child, `${path}.${key}`]);
      }
    }
  }
  return null;
}
