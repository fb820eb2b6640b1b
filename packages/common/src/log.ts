// One root logger per process; components take children
// (`log.child({ component: 'raft', regionId })`). JSON lines by default,
// human-readable when `pretty` (the playground's foreground output).
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  name: string;
  level?: string;
  pretty?: boolean;
}

export function createLogger(opts: LogOptions): Logger {
  const level = opts.level ?? process.env.REDRAFT_LOG_LEVEL ?? 'info';
  if (opts.pretty) {
    return pino({ name: opts.name, level, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
  }
  return pino({ name: opts.name, level });
}
