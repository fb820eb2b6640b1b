// StoreNode.port: a command still running while the store stops (CLUSTER
// NODES, INFO, CONFIG GET port) reads it after the listener has closed; it
// used to throw "RESP server is not listening" there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { StoreNode } from '../src/node';

test('a standalone store knows its port before and after it stops', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'redraft-port-'));
  try {
    const node = await StoreNode.start({
      host: '127.0.0.1',
      port: 0,
      dataDir: dir,
      maxBulkLen: 512 * 1024 * 1024,
      maxMultibulkLen: 1024 * 1024,
      log: pino({ level: 'silent' }),
      metaAddrs: [],
      peerPort: 0,
      redirect: 'forward',
      tickMs: 100,
      heartbeatMs: 1000,
      raftLogGcThreshold: 10_000,
    });
    const port = node.port;
    assert.ok(port > 0, 'port 0 binds a free port, and that one is reported');
    await node.stop();
    assert.equal(node.port, port);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
