// `autoglm serve -m A -m B`: two embedded models from one process, as a user runs it. Both answer through the openai
// SDK; /v1/models tells which is loaded; an idle one unloads after its keep-alive and comes back on its next request
// (a request sent while it loads waits and is answered); with room for one, asking for the other evicts the idle
// one but never one with a request in flight; /metrics counts every load and unload.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { chromium } from 'playwright-core';
import { request } from 'undici';
import { modelMirror } from '../support/server.js';
import { cliArgv } from '../support/cli-command.js';

const STORIES = 'stories260K';
const TINY = 'llama-2-tiny-random';

interface Served {
  child: ChildProcess;
  url: string;
  out: () => string;
  err: () => string;
}

const running = new Set<ChildProcess>();
const killRunning = () => {
  for (const child of running) child.kill('SIGKILL');
};
process.on('exit', killRunning);

/** Starts `autoglm serve` and resolves once its banner names the address (the first model is loaded then). */
function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, cliArgv(['serve', '--port', '0', '-t', '1', '--log-level', 'warn', ...args]), {
    env: { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)?.[1];
      if (url) resolve({ child, url, out: () => out, err: () => err });
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code} before serving: ${err}`)));
  });
}

async function stop(served: Served | undefined): Promise<void> {
  if (!served || served.child.exitCode !== null) return;
  const exited = new Promise((r) => served.child.once('exit', r));
  served.child.kill('SIGTERM');
  await exited;
  running.delete(served.child);
}

type Listed = { id: string; object: string; owned_by: string; status?: string };

async function listed(url: string): Promise<Record<string, Listed>> {
  const body = (await (await request(`${url}/v1/models`)).body.json()) as { data: Listed[] };
  return Object.fromEntries(body.data.map((m) => [m.id, m]));
}

const statusOf = async (url: string, model: string) => (await listed(url))[model]?.status;

/** Polls until `what` holds; the limit is generous, for a machine busy with other work. */
async function until(what: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A sample's value in the Prometheus text, 0 when absent. */
async function sample(url: string, line: string): Promise<number> {
  const text = await (await request(`${url}/metrics`)).body.text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });

describe('serve -m A -m B with a short keep-alive', { timeout: 600_000 }, () => {
  let served: Served;
  before(async () => {
    served = await serve(['-m', STORIES, '-m', TINY, '--keep-alive', '2']);
  });
  after(() => stop(served));

  it('the banner lists both models with their state', () => {
    assert.match(served.out(), /serving 2 models/);
    assert.match(served.out(), new RegExp(`${STORIES}\\s+(loaded|unloaded)`), served.out());
    assert.match(served.out(), new RegExp(`${TINY}\\s+unloaded`), served.out());
  });

  it('/v1/models lists both in OpenAI shape with their load state; the one never asked for is unloaded', async () => {
    const models = await listed(served.url);
    assert.deepEqual(Object.keys(models).sort(), [TINY, STORIES].sort());
    for (const m of Object.values(models)) {
      assert.equal(m.object, 'model');
      assert.ok(['loaded', 'loading', 'unloaded'].includes(m.status ?? ''), `a status for ${m.id}: ${m.status}`);
    }
    assert.equal(models[TINY]!.status, 'unloaded');
    const one = (await (await request(`${served.url}/v1/models/${TINY}`)).body.json()) as Listed;
    assert.equal(one.status, 'unloaded');
  });

  it('both answer through the openai SDK, each under its own name', async () => {
    const openai = client(served.url);
    const chat = await openai.chat.completions.create({ model: STORIES, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8 });
    assert.equal(chat.model, STORIES);
    assert.ok(chat.choices[0]!.message.content, 'stories260K wrote something');
    const completion = await openai.completions.create({ model: TINY, prompt: 'Once upon a time', max_tokens: 8 });
    assert.equal(completion.model, TINY);
    assert.equal(completion.usage?.completion_tokens, 8);
  });

  it('an idle model unloads after its keep-alive, and its next request loads it again and is answered', async () => {
    await until(async () => (await statusOf(served.url, TINY)) === 'unloaded');
    assert.ok((await sample(served.url, `autoglm_model_unloads_total{model="${TINY}",reason="idle"}`)) >= 1, 'the idle unload is counted');
    assert.equal(await sample(served.url, `autoglm_model_loaded{model="${TINY}"}`), 0);
    const loadsBefore = await sample(served.url, `autoglm_model_loads_total{model="${TINY}"}`);
    const again = await client(served.url).completions.create({ model: TINY, prompt: 'Once upon a time', max_tokens: 4 });
    assert.equal(again.usage?.completion_tokens, 4);
    assert.equal(await sample(served.url, `autoglm_model_loads_total{model="${TINY}"}`), loadsBefore + 1, 'the reload is counted');
  });

  it('a request sent while its model is loading waits for it and gets a 200, not a 503', async () => {
    await until(async () => (await statusOf(served.url, STORIES)) === 'unloaded');
    const openai = client(served.url);
    const first = openai.completions.create({ model: STORIES, prompt: 'Once', max_tokens: 4 });
    await until(async () => (await statusOf(served.url, STORIES)) === 'loading', 30_000);
    // Sent as raw HTTP to see the status itself.
    const second = await request(`${served.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: STORIES, prompt: 'Once', max_tokens: 4 }),
    });
    const body = (await second.body.json()) as { usage?: { completion_tokens: number } };
    assert.equal(second.statusCode, 200, JSON.stringify(body));
    assert.equal(body.usage?.completion_tokens, 4);
    assert.equal((await first).usage?.completion_tokens, 4);
  });

  it('embeddings load their model on demand through the same set', async () => {
    await until(async () => (await statusOf(served.url, TINY)) === 'unloaded');
    const result = await client(served.url).embeddings.create({ model: TINY, input: 'a cat' });
    assert.ok(result.data[0]!.embedding.length > 0, 'a vector');
  });
});

describe('serve -m A -m B --max-loaded-models 1', { timeout: 600_000 }, () => {
  let served: Served;
  before(async () => {
    served = await serve(['-m', STORIES, '-m', TINY, '--max-loaded-models', '1', '--keep-alive', '-1']);
  });
  after(() => stop(served));

  it('asking for B while A streams waits: A is not evicted under its request; once A is done, B evicts it and answers', async () => {
    assert.equal(await statusOf(served.url, STORIES), 'loaded');
    const openai = client(served.url);
    // A long answer: the whole context, past the end-of-text token.
    const stream = await openai.completions.create({
      model: STORIES,
      prompt: 'Once upon a time',
      max_tokens: 1500,
      stream: true,
      // @ts-expect-error llama.cpp's extension, not in the SDK's types
      ignore_eos: true,
    });
    let tokens = 0;
    let onB: Promise<OpenAI.Completions.Completion> | undefined;
    const seenWhileAStreams: { a?: string; b?: string }[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.text) tokens++;
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (!onB && tokens > 0) {
        onB = openai.completions.create({ model: TINY, prompt: 'Once', max_tokens: 4 });
        onB.catch(() => undefined);
      }
      if (onB && seenWhileAStreams.length < 3 && tokens % 50 === 0) {
        const models = await listed(served.url);
        seenWhileAStreams.push({ a: models[STORIES]?.status, b: models[TINY]?.status });
      }
    }
    assert.equal(finish, 'length', 'A ran to its max_tokens');
    assert.ok(seenWhileAStreams.length > 0, 'A was checked while it streamed');
    assert.deepEqual(
      seenWhileAStreams,
      seenWhileAStreams.map(() => ({ a: 'loaded', b: 'unloaded' })),
      'A stays loaded while its request runs, and B waits unloaded',
    );
    const b = await onB!;
    assert.equal(b.usage?.completion_tokens, 4);
    const models = await listed(served.url);
    assert.equal(models[TINY]!.status, 'loaded');
    assert.equal(models[STORIES]!.status, 'unloaded', 'A gave way once idle');
    assert.equal(await sample(served.url, `autoglm_model_unloads_total{model="${STORIES}",reason="evicted"}`), 1);
  });

  it('A comes back when asked for, evicting idle B', async () => {
    const a = await client(served.url).completions.create({ model: STORIES, prompt: 'Once', max_tokens: 4 });
    assert.equal(a.usage?.completion_tokens, 4);
    assert.equal(await statusOf(served.url, TINY), 'unloaded');
    assert.equal(await sample(served.url, `autoglm_model_unloads_total{model="${TINY}",reason="evicted"}`), 1);
    assert.equal(await sample(served.url, `autoglm_model_loads_total{model="${STORIES}"}`), 2);
  });

  it('the dashboard shows each embedded model with its load state', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${served.url}/ui/`);
      const state = (model: string) => page.locator(`tr[data-model="${model}"] [data-testid="engine-state"]`);
      await state(STORIES).filter({ hasText: 'serving' }).waitFor({ timeout: 30_000 });
      await state(TINY).filter({ hasText: 'unloaded' }).waitFor({ timeout: 30_000 });
      // Asking for the other one swaps them on the page too.
      await client(served.url).completions.create({ model: TINY, prompt: 'Once', max_tokens: 2 });
      await state(TINY).filter({ hasText: 'serving' }).waitFor({ timeout: 30_000 });
      await state(STORIES).filter({ hasText: 'unloaded' }).waitFor({ timeout: 30_000 });
    } finally {
      await browser.close();
    }
  });
});

describe('serve -m A --keep-alive 1 (one model)', { timeout: 600_000 }, () => {
  let served: Served;
  before(async () => {
    served = await serve(['-m', STORIES, '--keep-alive', '1']);
  });
  after(() => stop(served));

  it('unloads its one model when idle, stays ready, and loads it again for the next request', async () => {
    await until(async () => (await statusOf(served.url, STORIES)) === 'unloaded');
    assert.equal((await request(`${served.url}/ready`)).statusCode, 200, 'still ready: it takes requests');
    const again = await client(served.url).completions.create({ model: STORIES, prompt: 'Once', max_tokens: 3 });
    assert.equal(again.usage?.completion_tokens, 3);
    assert.equal(await sample(served.url, `autoglm_model_loads_total{model="${STORIES}"}`), 2);
  });
});

describe('serve with several models, refused', { timeout: 120_000 }, () => {
  it('two models under one name is refused in one line that says how to fix it', async () => {
    await assert.rejects(serve(['-m', STORIES, '-m', STORIES]), /autoglm: error: two models would be served as 'stories260K'.*--alias/);
  });

  it('more --alias than --model is refused in one line', async () => {
    await assert.rejects(serve(['-m', STORIES, '--alias', 'a', '--alias', 'b']), /autoglm: error: 2 --alias for 1 --model/);
  });

  it('a keep-alive below -1 is refused in one line naming the flag', async () => {
    await assert.rejects(serve(['-m', STORIES, '-m', TINY, '--keep-alive', '-5']), /autoglm: error: invalid --keep-alive: /);
  });
});
