// Clients that write distinct keys continuously and record what was acknowledged.
import Redis, { Cluster as RedisCluster } from 'ioredis';
import type { Node } from './cluster';

export interface Ack {
  key: string;
  value: string;
  sentAt: number;
  ackAt: number;
}

/**
 * n clients writing distinct keys as fast as they are answered: plain ioredis
 * connections round-robin over the given stores, or with opts.cluster ioredis
 * Cluster clients seeded with all of them (they route by CLUSTER SLOTS).
 */
export function startWriters(stores: Node[], n: number, prefix: string, opts: { cluster?: boolean } = {}) {
  const acks: Ack[] = [];
  const errors: { sentAt: number; at: number; message: string }[] = [];
  let running = true;
  const startedAt = Date.now();
  const clients: (Redis | RedisCluster)[] = Array.from({ length: n }, (_, i) =>
    opts.cluster
      ? new RedisCluster(
          stores.map((s) => ({ host: '127.0.0.1', port: s.port })),
          { redisOptions: { commandTimeout: 5000, maxRetriesPerRequest: 1 }, retryDelayOnFailover: 50, retryDelayOnClusterDown: 50, retryDelayOnTryAgain: 50 },
        )
      : new Redis({ port: stores[i % stores.length].port, host: '127.0.0.1', commandTimeout: 5000, maxRetriesPerRequest: 1 }),
  );
  for (const cl of clients) cl.on('error', () => {}); // reconnect noise while a store is down; failures show in `errors`
  const loops = clients.map(async (cl, c) => {
    for (let i = 0; running; i++) {
      const key = `${prefix}:${c}:${i}`;
      const value = `v${c}.${i}`;
      const sentAt = Date.now();
      try {
        const r = await cl.set(key, value);
        if (r === 'OK') acks.push({ key, value, sentAt, ackAt: Date.now() });
        else errors.push({ sentAt, at: Date.now(), message: `unexpected reply ${String(r)}` });
      } catch (e) {
        errors.push({ sentAt, at: Date.now(), message: (e as Error).message });
        await new Promise((r) => setTimeout(r, 20)); // no busy loop while there is no leader
      }
    }
  });
  return {
    startedAt,
    acks,
    errors,
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const cl of clients) cl.disconnect();
    },
  };
}

