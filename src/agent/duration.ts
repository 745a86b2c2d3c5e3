const units = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration setting → milliseconds: `500ms`, `30s`, `10m`, `2h`, `7d`, or a bare number of
 * seconds (`600`). Returns undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = (m[2] ?? 's') as keyof typeof units;
  return Math.round(Number(m[1]) * units[unit]);
}
