// etcd-style interaction scripts: testdata/*.txt hold commands, each followed
// by `----` and the expected output. `REWRITE=1 npm test -- raft` regenerates
// the expected output (review the diff before committing it).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfChangeType, ReadOnlyOption } from '../../src/raft';
import { Env, Overrides, dec, enc } from './harness';

// Compiled to dist/test/raft; the scripts stay in the source tree.
const dir = join(__dirname, '..', '..', '..', 'test', 'raft', 'testdata');

interface Block {
  cmd: string;
  expected: string;
}

function parse(text: string): { blocks: Block[]; header: string } {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let header = '';
  let i = 0;
  while (i < lines.length && (lines[i].startsWith('#') || lines[i].trim() === '')) header += lines[i++] + '\n';
  while (i < lines.length) {
    if (lines[i].trim() === '') {
      i++;
      continue;
    }
    const cmd = lines[i++];
    if (lines[i] !== '----') throw new Error(`expected ---- after "${cmd}"`);
    i++;
    const out: string[] = [];
    while (i < lines.length && lines[i] !== '') out.push(lines[i++]);
    blocks.push({ cmd, expected: out.join('\n') });
  }
  return { blocks, header };
}

class Runner {
  env: Env | undefined;

  private e(): Env {
    if (!this.env) throw new Error('add-nodes first');
    return this.env;
  }

  run(cmd: string): string {
    const [op, ...args] = cmd.trim().split(/\s+/);
    const n = args.map(Number);
    switch (op) {
      case 'add-nodes': {
        const o: Overrides = {};
        for (const flag of args.slice(1)) {
          if (flag === 'pre-vote') o.preVote = true;
          else if (flag === 'check-quorum') o.checkQuorum = true;
          else if (flag === 'lease') Object.assign(o, { checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased });
          else if (flag.startsWith('learners=')) continue;
          else throw new Error(`unknown flag ${flag}`);
        }
        const learners = args.find((a) => a.startsWith('learners='))?.slice(9).split(',').map(Number) ?? [];
        const voters = Array.from({ length: n[0] }, (_, k) => k + 1).filter((id) => !learners.includes(id));
        this.env = new Env(voters, learners, o);
        return 'ok';
      }
      case 'campaign':
        this.e().node(n[0]).raw.campaign();
        return 'ok';
      case 'stabilize':
        return this.e().stabilize().join('\n') || 'ok';
      case 'deliver':
        return this.e().deliver().join('\n') || 'ok';
      case 'propose': {
        const r = this.e().propose(n[0], args[1]);
        return r ? `dropped: ${r}` : 'ok';
      }
      case 'tick':
        this.e().tick(n[0], n[1] ?? 1);
        return 'ok';
      case 'tick-all':
        this.e().tickAll(n[0] ?? 1);
        return 'ok';
      case 'isolate':
        this.e().isolate(n[0]);
        return 'ok';
      case 'heal':
        this.e().heal();
        return 'ok';
      case 'transfer':
        this.e().node(n[0]).raw.transferLeader(n[1]);
        return 'ok';
      case 'read-index':
        this.e().node(n[0]).raw.readIndex(enc(args[1]));
        return 'ok';
      case 'read-states': {
        const node = this.e().node(n[0]);
        const out = node.readStates.map((r) => `index=${r.index} ctx=${dec(r.context)}`);
        node.readStates = [];
        return out.join('\n') || 'none';
      }
      case 'lease':
        return this.e().node(n[0]).raw.leaseValid() ? 'valid' : 'invalid';
      case 'conf-change': {
        const type = { add: ConfChangeType.AddNode, learner: ConfChangeType.AddLearner, remove: ConfChangeType.RemoveNode }[args[1]];
        if (type === undefined) throw new Error(`unknown conf change ${args[1]}`);
        const r = this.e().proposeConfChange(n[0], { type, nodeId: n[2] });
        return r ? `dropped: ${r}` : 'ok';
      }
      case 'applied':
        return this.e().data(n[0]).join(' ') || 'none';
      case 'status':
        return [...this.e().nodes.values()]
          .map((x) => {
            const r = x.raw.raft;
            return `${x.id}: ${r.state} term=${r.term} lead=${r.lead} last=${r.log.lastIndex()} commit=${r.log.committed} applied=${r.log.applied} voters=${r.voters.join(',')}${r.learners.length ? ' learners=' + r.learners.join(',') : ''}`;
          })
          .join('\n');
      default:
        throw new Error(`unknown command ${op}`);
    }
  }
}

const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.txt')).sort() : [];

test('interaction scripts exist', () => {
  assert.ok(files.length > 0, `no scripts in ${dir}`);
});

for (const f of files) {
  test(`interaction: ${f}`, () => {
    const path = join(dir, f);
    const { blocks, header } = parse(readFileSync(path, 'utf8'));
    const runner = new Runner();
    const actual = blocks.map((b) => ({ cmd: b.cmd, expected: runner.run(b.cmd) }));
    if (process.env.REWRITE) {
      writeFileSync(path, header + actual.map((b) => `${b.cmd}\n----\n${b.expected}\n`).join('\n'));
      return;
    }
    for (let i = 0; i < blocks.length; i++) {
      assert.equal(actual[i].expected, blocks[i].expected, `${f}: after "${blocks[i].cmd}"`);
    }
  });
}
