// `autoglm serve --embeddings-only`: the CLI serves /v1/embeddings from the GGUF with no chat context loaded, and
// refuses chat with a 400 that says why.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { runCli, until, type CliProcess } from '../support/processes.js';
import { modelMirror } from '../support/server.js';

describe('serve --embeddings-only', () => {
  let serve: CliProcess;
  let url: string;

  before(async () => {
    serve = runCli(['serve', '--embeddings-only', '-m', 'stories260K', '-p', '0', '-t', '1', '--database', ':memory:'], {
      ...process.env,
      AUTOGLM_MODEL_MIRROR: modelMirror,
    });
    const listening = /serving .* at (http:\/\/[\d.:]+)\/v1/;
    await until(() => listening.test(serve.out()) || serve.child.exitCode !== null, 60_000);
    url = listening.exec(serve.out())?.[1] ?? assert.fail(`serve did not start: ${serve.err()}`);
  });
  after(async () => {
    serve.child.kill('SIGTERM');
    await serve.exited;
  });

  it('says so in its banner and loads no chat sequences', async () => {
    assert.match(serve.out(), /routes {3}\/v1\/embeddings \(embeddings only: no chat context loaded\)/);
    const metrics = await (await request(`${url}/metrics`)).body.text();
    assert.match(metrics, /^autoglm_sequences\{[^}]*\} 0$/m);
  });

  it('embeds, and refuses a chat completion with a 400 naming the flag', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
    const res = await client.embeddings.create({ model: 'stories260K', input: ['Once upon a time', 'The end'], encoding_format: 'float' });
    assert.equal(res.data.length, 2);
    assert.equal(res.data[0]!.embedding.length, 64);
    const chat = await client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    assert.ok(chat instanceof OpenAI.BadRequestError, `chat is a 400: ${String(chat)}`);
    assert.equal(chat.code, 'embeddings_only');
    assert.match(chat.message, /--embeddings-only/);
  });
});
