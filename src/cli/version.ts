import { readFileSync } from 'node:fs';

/** The installed package's version (dist/cli → ../../package.json, in a clone and in an install). */
export function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
