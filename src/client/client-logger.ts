import pino, { type Logger } from 'pino';
import { maskSecrets } from '../protocol/secret-masking.js';

/** Seed 000's level names. */
const labels: Record<string, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/**
 * JSON lines with INFO/WARNING/ERROR/CRITICAL levels to a rotating file (default ~/pdv_sync.log).
 * Every line passes through the product's credential masking, with the till's own token as a
 * known secret, whatever message or error carries it.
 */
export function createClientLogger(
  file: string,
  level: string,
  secrets: readonly string[] = [],
): Logger {
  const known = secrets.filter((s) => s.length >= 8);
  if (!file || level === 'silent') return pino({ level: 'silent' });
  return pino(
    {
      level,
      formatters: { level: (label) => ({ level: labels[label] ?? label.toUpperCase() }) },
      redact: { paths: ['token', '*.token'], censor: '[redacted]' },
      hooks: { streamWrite: (line) => maskSecrets(line, known) },
    },
    pino.transport({
      target: 'pino-roll',
      options: { file, frequency: 'daily', size: '10m', mkdir: true, limit: { count: 7 } },
    }) as pino.DestinationStream,
  );
}
