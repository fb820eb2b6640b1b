// Reads the event files a traced playground wrote (REDRAFT_TRACE_DIR, see
// packages/common/src/util/trace.ts) during one client's writes and prints
// where a write's time goes: on the leader, each stage's time since the
// request's bytes arrived; on each follower, the stages of one append; and
// the two network hops between them. Percentiles over every request.
//
// Usage: node scripts/trace-stages.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/trace-stages.mjs DIR');
  process.exit(2);
}

/** Every process's events: { pid, events: [{ t (µs), name, args }] }. */
const procs = readdirSync(dir)
  .filter((f) => /^\d+\.txt$/.test(f))
  .map((f) => ({
    pid: f.replace('.txt', ''),
    events: readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [t, name, ...args] = line.split(' ');
        return { t: Number(t), name, args: args.join(' ') };
      }),
  }));
const count = (p, name) => p.events.filter((e) => e.name === name).length;
// The leader took the client's requests; the followers received its appends.
const leader = procs.reduce((a, b) => (count(b, 'client-data') > count(a, 'client-data') ? b : a), procs[0]);
const followers = procs.filter((p) => p !== leader && count(p, 'recv-append') > 0);
if (!leader || count(leader, 'client-data') === 0) {
  console.error(`trace-stages: no process in ${dir} recorded a client request`);
  process.exit(1);
}

function percentiles(values) {
  const v = [...values].sort((a, b) => a - b);
  const at = (q) => v[Math.min(v.length - 1, Math.floor(q * v.length))];
  return { n: v.length, p10: at(0.1), p50: at(0.5), p90: at(0.9) };
}

function table(title, rows) {
  console.log(`\n${title}`);
  console.log(`  ${'stage'.padEnd(34)} ${'n'.padStart(6)} ${'p10'.padStart(6)} ${'p50'.padStart(6)} ${'p90'.padStart(6)}`);
  for (const [name, values] of rows) {
    if (values.length === 0) continue;
    const p = percentiles(values);
    console.log(`  ${name.padEnd(34)} ${String(p.n).padStart(6)} ${String(p.p10).padStart(6)} ${String(p.p50).padStart(6)} ${String(p.p90).padStart(6)}`);
  }
}

/**
 * From each event named `start`, the time until the first later event of
 * each name, up to the next `start` or `end`: { name: [µs...] } in the order
 * of the medians.
 */
function stagesFrom(events, start, end) {
  const by = new Map();
  for (let i = 0; i < events.length; i++) {
    if (events[i].name !== start) continue;
    const t0 = events[i].t;
    const seen = new Map();
    let complete = false;
    for (let j = i + 1; j < events.length && j < i + 200; j++) {
      const e = events[j];
      if (e.name === start) break;
      if (!seen.has(e.name)) seen.set(e.name, e.t - t0);
      if (e.name === end) {
        complete = true;
        break;
      }
    }
    if (!complete) continue;
    for (const [name, dt] of seen) {
      if (!by.has(name)) by.set(name, []);
      by.get(name).push(dt);
    }
  }
  return [...by].sort((a, b) => percentiles(a[1]).p50 - percentiles(b[1]).p50);
}

// A reply that carries bytes (a RESP flush with nothing in it is not a reply).
const leaderEvents = leader.events.filter((e) => !(e.name === 'reply-write' && e.args === 'bytes=0'));
table(`leader (pid ${leader.pid}): µs from a request's bytes to each first event after them`, stagesFrom(leaderEvents, 'client-data', 'reply-write'));
for (const f of followers) {
  table(`follower (pid ${f.pid}): µs from an append's arrival`, stagesFrom(f.events, 'recv-append', 'peer-write'));
}

// Hops: a frame written by one process and the next matching receipt in
// another. The events name no connection, so a pairing can be off when both
// followers' appends are in flight at once; the percentiles hold up.
const all = procs.flatMap((p) => p.events.map((e) => ({ ...e, pid: p.pid }))).sort((a, b) => a.t - b.t);
const toFollower = [];
const toLeader = [];
// pid → the kind of its last send-* events and how many peer writes may carry them
// (a leader's two appends go in two writes, one per follower).
const pending = new Map();
for (let i = 0; i < all.length; i++) {
  const e = all[i];
  if (e.name.startsWith('send-')) {
    const p = pending.get(e.pid);
    pending.set(e.pid, { name: e.name, n: p && p.name === e.name ? p.n + 1 : 1 });
  }
  if (e.name !== 'peer-write') continue;
  const p = pending.get(e.pid);
  if (p === undefined) continue;
  if (--p.n === 0) pending.delete(e.pid); // later writes (heartbeats, other frames) are not these
  const fromLeader = e.pid === leader.pid && p.name === 'send-append';
  const fromFollower = e.pid !== leader.pid && p.name === 'send-append-resp';
  if (!fromLeader && !fromFollower) continue;
  for (let j = i + 1; j < all.length && j < i + 100; j++) {
    const r = all[j];
    if (fromLeader && r.pid !== leader.pid && r.name === 'recv-append') {
      toFollower.push(r.t - e.t);
      break;
    }
    if (fromFollower && r.pid === leader.pid && r.name === 'recv-append-resp') {
      toLeader.push(r.t - e.t);
      break;
    }
  }
}
table('network hops: µs from a frame\'s socket write to its receipt', [
  ['leader → follower (append)', toFollower],
  ['follower → leader (append answer)', toLeader],
]);
