import pino, { type Logger } from 'pino';

/**
 * Structured logs as seed 002 asks: JSON to a rotating file (daily or 10 MB,
 * 14 files kept) and readable text on the console. Secrets never reach a log:
 * token headers are redacted and tokens in URLs are masked by the request serializer.
 */
export function createLogger(options: { level: string; file: string; pretty?: boolean }): Logger {
  const targets: pino.TransportTargetOptions[] = [];
  if (options.file)
    targets.push({
      target: 'pino-roll',
      level: options.level,
      options: {
        file: options.file,
        frequency: 'daily',
        size: '10m',
        mkdir: true,
        limit: { count: 14 },
      },
    });
  targets.push(
    options.pretty === false
      ? { target: 'pino/file', level: options.level, options: { destination: 1 } }
      : {
          target: 'pino-pretty',
          level: options.level,
          options: { destination: 1, translateTime: 'SYS:standard', ignore: 'pid,hostname' },
        },
  );
  return pino(
    {
      level: options.level,
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.token'],
        censor: '[redacted]',
      },
    },
    options.level === 'silent'
      ? undefined
      : (pino.transport({ targets }) as pino.DestinationStream),
  );
}

export function maskTokenInUrl(url: string): string {
  return url.replace(/([?&]token=)[^&]*/g, '$1[redacted]');
}
