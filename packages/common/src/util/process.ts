// How every redraft process lives: flag values checked first (a bad one exits
// with status 2 and names the flag), then a service that runs until SIGTERM
// or SIGINT and stops cleanly.
import type { Logger } from 'pino';
import { OptionError } from './options';

/** f(), or exit 2 with the message of the OptionError it threw. */
export function checkOption<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OptionError) {
      console.error(`redraft: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
}

/** Starts a service (exit 1 if it cannot start) and stops it on SIGTERM/SIGINT. */
export async function serveUntilSignal(name: string, log: Logger, start: () => Promise<{ stop(): Promise<void> }>): Promise<void> {
  const service = await start().catch((e) => {
    log.fatal({ err: e }, `${name} failed to start`);
    process.exit(1);
  });
  const stop = (): void => {
    service.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
