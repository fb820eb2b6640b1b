// Temporary directories removed after the test (or at exit). Set
// REDRAFT_KEEP_TMP=1 to keep them for a post-mortem.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What node:test's TestContext and the `after` hook both look like. */
export interface AfterHook {
  after(fn: () => unknown): unknown;
}

const pending = new Set<string>();
let hooked = false;

export function keepTmp(): boolean {
  return process.env.REDRAFT_KEEP_TMP === '1';
}

export function removeDir(dir: string): void {
  pending.delete(dir);
  if (!keepTmp()) rmSync(dir, { recursive: true, force: true });
}

/**
 * Makes a fresh directory under the OS temp dir. With t (a TestContext, or
 * an object with `after`), it is removed when that test ends; in any case
 * it is removed when the process exits.
 */
export function tempDir(t?: AfterHook, prefix = 'redraft-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  pending.add(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const d of [...pending]) removeDir(d);
    });
  }
  t?.after(() => removeDir(dir));
  return dir;
}
