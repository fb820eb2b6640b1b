// Replays a saved history through the checker:
//   node test/dist/chaos/check.js /tmp/redraft-chaos-.../history.json
// Exit code 0 if linearizable with no lost write, 1 if not, 2 on bad input.
import { readFileSync } from 'node:fs';
import { checkHistory, explain, lostWrites } from './checker';
import type { Op } from './history';

function main(): number {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node test/dist/chaos/check.js HISTORY.json\n');
    return 2;
  }
  let ops: Op[];
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { ops?: Op[] } | Op[];
    ops = Array.isArray(parsed) ? parsed : (parsed.ops ?? []);
    if (!Array.isArray(ops) || ops.some((op) => typeof op !== 'object' || typeof op.key !== 'string' || typeof op.invokeAt !== 'number')) throw new Error('not a list of operations');
  } catch (e) {
    process.stderr.write(`${file}: ${(e as Error).message}\n`);
    return 2;
  }
  const t0 = performance.now();
  const res = checkHistory(ops);
  const lost = lostWrites(ops);
  const slowest = [...res.keys].sort((a, b) => b.steps - a.steps)[0];
  process.stdout.write(`checked ${ops.length} ops on ${res.keys.length} keys in ${(performance.now() - t0).toFixed(0)} ms${slowest ? ` (most search steps: ${slowest.steps} on ${slowest.key})` : ''}\n`);
  if (!res.linearizable) process.stdout.write(explain(res) + '\n');
  for (const l of lost) process.stdout.write(`LOST: ${l.reason}\n`);
  const count = (o: string) => ops.filter((op) => op.outcome === o).length;
  process.stdout.write(`ops=${ops.length} ok=${count('ok')} fail=${count('fail')} info=${count('info')} linearizable=${res.linearizable} lost=${lost.reduce((s, l) => s + l.count, 0)}\n`);
  return res.linearizable && lost.length === 0 ? 0 : 1;
}

// `check.js FILE | head` closes stdout early: not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = main();
