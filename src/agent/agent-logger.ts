import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { maskSecrets } from '../protocol/secret-masking.js';

/**
 * The agent's log: JSON to a rotating file under its `logs/` folder (daily or 10 MB,
 * 14 files kept), and JSON lines on stdout for a service manager. Nothing logged
 * carries the API token: the agent never logs headers, and `*.token`,
 * `*.apiToken` and `authorization` are redacted in case one slips in, and every line passes
 * through the product's credential masking with the agent's own secrets (token, database
 * password) as known values.
 */
export function createAgentLogger(options: {
  level: string;
  logDir: string;
  stdout?: boolean;
  /** Values to mask wherever they appear (the API token, the database password). */
  secrets?: readonly string[];
}): Logger {
  const known = (options.secrets ?? []).filter((s) => s.length >= 4);
  const targets: pino.TransportTargetOptions[] = [];
  if (options.logDir)
    targets.push({
      target: 'pino-roll',
      level: options.level,
      options: {
        file: join(options.logDir, 'pdv-sync-agent.log'),
        frequency: 'daily',
        size: '10m',
        mkdir: true,
        limit: { count: 14 },
      },
    });
  if (options.stdout !== false)
    targets.push({ target: 'pino/file', level: options.level, options: { destination: 1 } });
  return pino(
    {
      level: options.level,
      base: { name: 'pdv-sync-agent' },
      redact: {
        paths: ['*.token', '*.apiToken', 'apiToken', 'authorization', '*.authorization', 'headers'],
        censor: '[redacted]',
      },
      hooks: { streamWrite: (line) => maskSecrets(line, known) },
    },
    options.level === 'silent' || targets.length === 0
      ? pino.destination({ dest: '/dev/null' })
      : (pino.transport({ targets }) as pino.DestinationStream),
  );
}
