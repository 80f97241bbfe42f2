// bench:speculative: completion tokens/s on echo-heavy work ("repeat this passage", a code edit) at temperature 0,
// served with and without prompt lookup, in interleaved rounds; the answers of both must be the same, word for word.
import assert from 'node:assert/strict';
import { interleavedRepeats, Medians, MODEL, startServe, stopServe, THREADS, type BenchServer } from './server-vs-direct.js';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 128);
const passage = 'Once upon a time, there was a little girl named Lily. She loved to play in the park with her dog Max. One day, Max found a big red ball.';
const code = 'function add(a, b) {\n  return a + b;\n}\nfunction sub(a, b) {\n  return a - b;\n}\n';
const WORKLOADS: Record<string, string> = {
  'repeat this passage': `Repeat this passage: ${passage}\nThe passage again: ${passage}\nThe passage again:`,
  'code edit': `Rename b to y in this code:\n${code}\nThe code with b renamed:\n${code.replaceAll('b)', 'y)').slice(0, 40)}`,
  'story (little echo)': 'Once upon a time',
};
const MODES = ['off', 'lookup'] as const;

interface Answer {
  text: string;
  tokens: number;
  seconds: number;
}

async function complete(server: BenchServer, prompt: string): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stories260K', prompt, max_tokens: TOKENS, temperature: 0, ignore_eos: true }),
  });
  if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
  const json = (await res.json()) as { choices: { text: string }[]; usage: { completion_tokens: number } };
  return { text: json.choices[0]!.text, tokens: json.usage.completion_tokens, seconds: (performance.now() - started) / 1000 };
}

const servers = new Map<string, BenchServer>();
try {
  for (const mode of MODES) {
    servers.set(
      mode,
      await startServe(
        ['--model', MODEL, '--port', '0', '--threads', String(THREADS), '--parallel', '1', '--speculative', mode, '--log-level', 'warn'],
        'sources',
      ),
    );
  }
  const medians = new Medians();
  const texts = new Map<string, string>();
  const round = async () => {
    for (const [name, prompt] of Object.entries(WORKLOADS)) {
      for (const mode of MODES) {
        const answer = await complete(servers.get(mode)!, prompt);
        const seen = texts.get(name);
        if (seen === undefined) texts.set(name, answer.text);
        else assert.equal(answer.text, seen, `${name}: the answer with speculative ${mode} differs`);
        medians.record(`${name}\u0000${mode}`, answer.tokens / answer.seconds);
      }
    }
  };
  await interleavedRepeats(async () => void (await round()), round);
  console.log(`completion tokens/s at temperature 0, ${TOKENS} tokens, parallel 1, threads ${THREADS} (median of rounds; same answers asserted)`);
  for (const name of Object.keys(WORKLOADS)) {
    for (const mode of MODES) console.log(medians.chart(`${name} / ${mode}`, `${name}\u0000${mode}`, 'tok/s', { labelWidth: 34, digits: 0 }));
  }
} finally {
  for (const s of servers.values()) await stopServe(s.child);
}
