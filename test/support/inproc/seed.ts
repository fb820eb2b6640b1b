// The seed of an in-process test: HARNESS_SEED=n replays a run, otherwise a
// fresh one. Printed first, so a failing run names the seed that replays it.
import { randomInt } from 'node:crypto';
import { seededRandom, type Rng } from '../../chaos/random';

export interface Seeded {
  seed: number;
  /** The schedule's choices. */
  rnd: Rng;
  /** Another stream of the same seed (say, per-message drops), so the number of messages does not shift the schedule's choices. */
  stream(n: number): Rng;
}

/** What a test context offers for reporting (node:test's TestContext). */
interface Diagnostics {
  name: string;
  diagnostic(message: string): void;
}

export function harnessSeed(t: Diagnostics, file: string): Seeded {
  const env = process.env.HARNESS_SEED;
  if (env !== undefined && !/^\d+$/.test(env)) throw new Error(`HARNESS_SEED must be a non-negative integer, got ${JSON.stringify(env)}`);
  const seed = env !== undefined ? Number(env) : randomInt(1, 2 ** 31 - 1);
  const line = `seed ${seed} (replay: HARNESS_SEED=${seed} npm test -- ${file})`;
  t.diagnostic(line);
  console.log(`# ${t.name}: ${line}`);
  return { seed, rnd: seededRandom(seed), stream: (n) => seededRandom((seed + Math.imul(n, 0x9e3779b9)) | 0) };
}
