// rag re-ranked by an embedding model the gateway itself serves: `autoglm index add --config` embeds the passages with
// the config's sim replicas, `autoglm serve --config` re-ranks a question's BM25 hits with the same model in-process
// (no HTTP request reaches /v1/embeddings), and an index whose vectors came from another model is refused at start.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { SimEmbedder } from '../../src/engines/sim/index.js';
import { DocumentIndex, ServedEmbedder } from '../../src/retrieval/index.js';
import { runCli, until, type CliProcess } from '../support/processes.js';

const QUESTION = 'which port does the gateway use';

/** Passages whose BM25 order and embedding order differ: prefix matches count for BM25, only whole words for the sim's vectors. */
const DOCS: Record<string, string> = {
  'a-port.md':
    'The gateway answers on port 8080 unless its config names another port, and it logs each request it serves to the access log with its status and latency.',
  'b-which.md': 'Which port does the gateway use? Port 8080.',
  'c-notes.md': 'Which model does the router use? The one the policy picks.',
  'd-keys.md': 'Which key does the client use? The one in the environment.',
};

const config = (index: string, embeddingModel: string) => `
models:
  chat: { replicas: [{ type: sim, preset: instant, outputTokens: 4 }] }
  embed: { replicas: [{ type: sim, preset: instant }, { type: sim, preset: instant }] }
  other: { replicas: [{ type: sim, preset: instant }] }
reasoning:
  retrieval: { index: ${JSON.stringify(index)}, topK: 2, embeddings: { model: ${embeddingModel} } }
`;

describe('rag re-ranked by an embedding model served in the same process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-rag-served-'));
  const index = join(dir, 'index.json');
  const configFile = join(dir, 'gateway.yaml');
  let gateway: CliProcess;
  let url = '';

  before(async () => {
    mkdirSync(join(dir, 'docs'));
    for (const [name, text] of Object.entries(DOCS)) writeFileSync(join(dir, 'docs', name), `${text}\n`);
    writeFileSync(configFile, config(index, 'embed'));
    // Run from the docs folder: sources are named relative to it.
    const add = runCli(['index', 'add', '.', '--config', configFile], process.env, join(dir, 'docs'));
    assert.equal(await add.exited, 0, add.err());
    assert.match(add.out(), /indexed 4 files as 4 passages; .* embedded with 'embed'/);
    gateway = runCli(['serve', '--config', configFile, '--port', '0']);
    await until(() => /Ctrl-C/.test(gateway.out()) || gateway.child.exitCode !== null, 90_000);
    url = /gateway at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(gateway.out())?.[1] ?? '';
    assert.ok(url, `the gateway started: ${gateway.err()}`);
  });

  after(async () => {
    gateway?.child.kill('SIGTERM');
    await gateway?.exited;
  });

  it('cites the passages in the order the served model re-ranks them, with no HTTP call to /v1/embeddings', async () => {
    // What BM25 alone and BM25 re-ranked by the sim's vectors give for the question, from the index the CLI wrote.
    const saved = DocumentIndex.load(index);
    assert.equal(saved.embeddingModel, 'embed', 'the index records the model its vectors come from');
    const sim = new SimEmbedder('embed');
    const bm25 = (await saved.search(QUESTION, 2)).map((h) => h.source);
    const reranked = (await saved.search(QUESTION, 2, new ServedEmbedder('embed', () => sim))).map((h) => h.source);
    assert.notDeepEqual(reranked, bm25, 'the passages are chosen so that re-ranking changes what is cited');

    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'rag:chat', messages: [{ role: 'user', content: QUESTION }], max_tokens: 4 }),
    });
    const body = (await res.body.json()) as { reasoning?: { strategy: string; sources?: string[] } };
    assert.equal(res.statusCode, 200, JSON.stringify(body));
    assert.equal(body.reasoning?.strategy, 'rag');
    assert.deepEqual(body.reasoning?.sources, reranked, `cited ${body.reasoning?.sources?.join(', ')}; BM25 alone would cite ${bm25.join(', ')}`);

    const metrics = await (await request(`${url}/metrics`)).body.text();
    assert.doesNotMatch(metrics, /autoglm_requests_total\{[^}]*route="\/v1\/embeddings"/, 'no HTTP request reached /v1/embeddings');
    const embedCalls = [...metrics.matchAll(/autoglm_replica_requests_total\{[^}]*model="embed"[^}]*outcome="ok"[^}]*\} (\d+)/g)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    assert.ok(
      embedCalls >= 1,
      `the question was embedded by a replica of 'embed', counted in its metrics:\n${metrics.match(/.*replica_requests_total.*/g)?.join('\n')}`,
    );
  });

  it('index add says where an embedding model is missing, and keeps one model per index', async () => {
    const nowhere = runCli(['index', 'add', '.', '--index', join(dir, 'nowhere.json'), '--embeddings-model', 'embed'], process.env, join(dir, 'docs'));
    assert.equal(await nowhere.exited, 1);
    assert.match(nowhere.err(), /^autoglm: error: --embeddings-model embed needs where it is served: --config <gateway\.yaml> .* or --embeddings-url <url>\n$/);
    const other = runCli(['index', 'add', '.', '--config', configFile, '--embeddings-model', 'other'], process.env, join(dir, 'docs'));
    assert.equal(await other.exited, 1);
    assert.match(other.err(), /autoglm: error: the index's passages have vectors from 'embed': embed with it/);
    assert.equal(DocumentIndex.load(index).embeddingModel, 'embed', 'the index is unchanged');
  });

  it('refuses at start, in one line, to re-rank with a model other than the one the index was embedded with', async () => {
    const otherConfig = join(dir, 'other.yaml');
    writeFileSync(otherConfig, config(index, 'other'));
    const refused = runCli(['serve', '--config', otherConfig, '--port', '0']);
    const code = await refused.exited;
    assert.notEqual(code, 0, refused.out());
    const errors = refused
      .err()
      .split('\n')
      .filter((l) => l.startsWith('autoglm: error:'));
    assert.equal(errors.length, 1, refused.err());
    assert.match(errors[0]!, /index\.json holds vectors from 'embed', but passages are to be re-ranked with 'other'/);
    assert.doesNotMatch(refused.err(), /\n\s+at /, 'no stack trace');
  });

  it('refuses to re-rank with a model the gateway does not embed with, naming those it does', async () => {
    const chatConfig = join(dir, 'chat.yaml');
    writeFileSync(chatConfig, config(index, 'nothing'));
    const refused = runCli(['serve', '--config', chatConfig, '--port', '0']);
    assert.notEqual(await refused.exited, 0, refused.out());
    assert.match(
      refused.err(),
      /^autoglm: error: reasoning\.retrieval\.embeddings\.model 'nothing' is not a model this server embeds with \(it embeds with [^)]*\bembed\b/m,
    );
  });
});
