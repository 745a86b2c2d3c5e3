import pino, { type Logger } from 'pino';

/** Seed 000's level names. */
const labels: Record<string, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/** JSON lines with INFO/WARNING/ERROR/CRITICAL levels to a rotating file (default ~/pdv_sync.log). */
export function createClientLogger(file: string, level: string): Logger {
  if (!file || level === 'silent') return pino({ level: 'silent' });
  return pino(
    {
      level,
      formatters: { level: (label) => ({ level: labels[label] ?? label.toUpperCase() }) },
      redact: { paths: ['token', '*.token'], censor: '[redacted]' },
    },
    pino.transport({
      target: 'pino-roll',
      options: { file, frequency: 'daily', size: '10m', mkdir: true, limit: { count: 7 } },
    }) as pino.DestinationStream,
  );
}
