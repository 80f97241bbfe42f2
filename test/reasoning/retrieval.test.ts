// Retrieval for the rag strategy: passages, BM25 search, embeddings re-ranking against a real HTTP endpoint, the
// `autoglm index` CLI, and rag (chosen by name and by auto) through the API.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { parseGatewayConfig } from '../../src/config/index.js';
import { DocumentIndex, RemoteEmbedder, splitPassages } from '../../src/retrieval/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { runCli } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-rag-'));
const docs = join(dir, 'docs');
mkdirSync(docs);
writeFileSync(
  join(docs, 'gateway.md'),
  '# Gateway\n\nThe gateway listens on port 8080 unless --port says otherwise.\n\nCanary releases roll back when errors pass five percent.\n',
);
writeFileSync(join(docs, 'fruit.txt'), 'Bananas are rich in potassium.\n\nThe capital of Australia is Canberra, not Sydney.\n');
writeFileSync(join(docs, 'image.png'), 'not text');

/** An embeddings endpoint: bag-of-words vectors over a fixed vocabulary, so similar texts get similar vectors. */
function embeddingsServer(): Promise<{ url: string; server: Server; calls: () => number }> {
  const vocab = ['capital', 'australia', 'canberra', 'sydney', 'bananas', 'potassium', 'gateway', 'port', 'canary', 'errors', 'city'];
  let calls = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      calls++;
      const { input } = JSON.parse(body) as { input: string[] };
      const data = input.map((text, index) => ({
        index,
        embedding: vocab.map((w) => (text.toLowerCase().includes(w) ? 1 : 0) + (w === 'city' && /capital/i.test(text) ? 1 : 0)),
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
    });
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`, server, calls: () => calls })),
  );
}

describe('document index', () => {
  it('packs paragraphs into passages and cuts long ones at sentence ends', () => {
    assert.deepEqual(splitPassages('One.\n\nTwo.'), ['One.\nTwo.']);
    const long = splitPassages(`${'A sentence that goes on. '.repeat(80)}`);
    assert.ok(long.length >= 2 && long.every((p) => p.length <= 820), 'long.length >= 2 && long.every((p) => p.length <= 820)');
  });

  it('finds the passage that answers a question, and re-ranks with embeddings when it has them', async () => {
    const plain = DocumentIndex.empty();
    assert.deepEqual(await plain.add([docs]), { files: 2, passages: 2 });
    const hits = await plain.search('capital of Australia', 2);
    assert.match(hits[0]!.text, /Canberra/);
    const embed = await embeddingsServer();
    try {
      const embedder = new RemoteEmbedder({ baseUrl: embed.url, model: 'bow' });
      const withVectors = DocumentIndex.empty();
      await withVectors.add([docs], embedder);
      const file = join(dir, 'vectors.json');
      withVectors.save(file);
      const reloaded = DocumentIndex.load(file);
      const ranked = await reloaded.search('which city is the capital', 2, embedder);
      assert.match(ranked[0]!.text, /Canberra/);
      assert.ok(embed.calls() >= 3, 'passages and the query were embedded');
    } finally {
      embed.server.close();
    }
  });
});

describe('markup', () => {
  it('keeps <...> text in Markdown and plain text, and drops tags only from HTML', async () => {
    assert.deepEqual(splitPassages('Run bbh/<task>, for example bbh/navigate.'), ['Run bbh/<task>, for example bbh/navigate.']);
    assert.deepEqual(splitPassages('<p>Tom &amp; Jerry</p><script>var x = 1;</script><p>a &lt;b&gt; c</p>', 'html'), ['Tom & Jerry\na <b> c']);
    const folder = mkdtempSync(join(tmpdir(), 'autoglm-markup-'));
    writeFileSync(join(folder, 'eval.md'), '# Datasets\n\n`autoglm eval` runs bbh/<task> and gsm8k; Array<string> is a type.\n');
    writeFileSync(join(folder, 'page.html'), '<html><body><h1>Ports</h1><p>The <b>gateway</b> listens on 8080.</p></body></html>');
    const cli = runCli(['index', 'add', folder, '--index', join(folder, 'index.json')]);
    assert.equal(await cli.exited, 0, cli.err());
    const search = runCli(['index', 'search', 'which bbh task does eval run', '--index', join(folder, 'index.json')]);
    assert.equal(await search.exited, 0, search.err());
    assert.match(search.out(), /bbh\/<task> and gsm8k; Array<string> is a type/);
    const html = DocumentIndex.load(join(folder, 'index.json'));
    const [hit] = await html.search('gateway listens', 1);
    assert.equal(hit!.text, 'Ports\nThe gateway listens on 8080.');
  });
});

describe('rag through the CLI and the API', () => {
  const indexFile = join(dir, 'index.json');
  let gateway: GatewayServer;

  before(async () => {
    const cli = runCli(['index', 'add', docs, '--index', indexFile]);
    assert.equal(await cli.exited, 0, cli.err());
    assert.match(cli.out(), /indexed 2 files as 2 passages/);
    const search = runCli(['index', 'search', 'which port does the gateway use', '--index', indexFile]);
    assert.equal(await search.exited, 0, search.err());
    assert.match(search.out(), /^\[1\] .*gateway\.md/m);
    gateway = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
models:
  chat: { replicas: [{ type: sim, preset: instant, outputTokens: 6 }] }
reasoning:
  retrieval: { index: ${indexFile}, topK: 1 }
`),
      { serverOverrides: { port: 0 } },
    );
  });

  after(async () => {
    await gateway?.close();
  });

  it('answers from the best passage, by name and when auto sees a question', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
    type R = OpenAI.Chat.ChatCompletion & { reasoning?: { strategy: string; sources?: string[] } };
    const named = (await client.chat.completions.create({
      model: 'rag:chat',
      messages: [{ role: 'user', content: 'What is the capital of Australia?' }],
    })) as R;
    assert.equal(named.reasoning?.strategy, 'rag');
    assert.deepEqual(
      named.reasoning?.sources?.map((s) => s.split('/').pop()),
      ['fruit.txt'],
    );
    const auto = (await client.chat.completions.create({
      model: 'auto:chat',
      messages: [{ role: 'user', content: 'Which port does the gateway listen on?' }],
    })) as R;
    assert.equal(auto.reasoning?.strategy, 'rag');
    assert.deepEqual(
      auto.reasoning?.sources?.map((s) => s.split('/').pop()),
      ['gateway.md'],
    );
  });
});
