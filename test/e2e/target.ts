// Which server the end-to-end tests run against. By default redraft's
// standalone store (`node bin/redraft.js store`); with E2E_TARGET=redis the
// same tests run against Debian's redis-server 7.0, which checks that what
// they expect is what Redis does (tests about redraft's own flags, limits
// and durability are skipped there).
import { withServer, type RedraftOptions, type Server, type TestLike } from '../support';

export const target: 'redraft' | 'redis' = process.env.E2E_TARGET === 'redis' ? 'redis' : 'redraft';
export const onRedis = target === 'redis';

/** A server for test t, stopped (and its log printed on failure) when t ends. */
export function startTarget(t: TestLike, opts: RedraftOptions = {}): Promise<Server> {
  if (onRedis) return withServer(t, { ...opts, kind: 'redis' });
  return withServer(t, { mode: 'store', ...opts });
}

/** `{ skip }` for redraft-only tests when running against redis-server. */
export const redraftOnly = onRedis ? { skip: 'redraft-specific (E2E_TARGET=redis)' } : {};
