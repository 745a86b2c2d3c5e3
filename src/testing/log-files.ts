import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** Everything the logger wrote under dir, once the line with `marker` reached the file. */
export async function written(dir: string, marker: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const text = existsSync(dir)
      ? readdirSync(dir)
          .map((f) => readFileSync(join(dir, f), 'utf8'))
          .join('')
      : '';
    if (text.includes(marker)) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`nothing logged with ${marker}`);
}

export const leakyToken = 'pdvs_dev_q1W2e3R4t5Y6u7I8o9P0a1S2d3F4g5H6';
export const leakyKey = 'chave-compartilhada-da-loja-7f3a';
export const leakyPassword = 's3nh@-do-banco';

/** A secret in every place a careless log call can put one, then `marker`. */
export function logSecretsEverywhere(log: Logger, marker: string): void {
  log.warn(`push refused for ${leakyToken} and ${leakyKey}`);
  log.error({ err: new Error(`401 with x-api-key ${leakyKey}`) }, 'request failed');
  log.info({ request: { headers: { 'x-api-key': leakyKey }, url: `/ws?token=${leakyKey}` } }, 'ws');
  log.info(
    { source: `mssql://sa:${encodeURIComponent(leakyPassword)}@host/db`, pass: leakyPassword },
    'source',
  );
  log.info(marker);
}
