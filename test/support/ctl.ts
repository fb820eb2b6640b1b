// `redraft ctl ...` (the operator scripts) as a test runs them: a child
// process against one meta, its exit code and output.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './servers';

export interface CtlRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `redraft ctl <args> --meta 127.0.0.1:<metaPort>`; resolves (never rejects) with its exit code and output. */
export function ctl(metaPort: number, ...args: string[]): Promise<CtlRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot(), 'bin', 'redraft.js'), 'ctl', ...args, '--meta', `127.0.0.1:${metaPort}`], { timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
