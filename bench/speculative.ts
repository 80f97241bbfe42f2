// bench:speculative: completion tokens/s on echo-heavy work ("repeat this passage", a code edit) at temperature 0,
// served with and without prompt lookup, in interleaved rounds; the answers of both must be the same, word for word.
// The ratio is the median of one pair of requests a round (the VM's drift cancels in a pair); the guesses the model
// confirmed and refuted come from the lookup server's /metrics: they say why a workload gains or not.
import assert from 'node:assert/strict';
import { interleavedRepeats, Medians, MODEL, startServe, stopServe, THREADS, type BenchServer } from './server-vs-direct.js';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 128);
const ROUNDS = Number(process.env.BENCH_REPEATS ?? 7);
const passage = 'Once upon a time, there was a little girl named Lily. She loved to play in the park with her dog Max. One day, Max found a big red ball.';
const code = 'function add(a, b) {\n  return a + b;\n}\nfunction sub(a, b) {\n  return a - b;\n}\n';
const ECHO_WORKLOADS: Record<string, string> = {
  'repeat this passage': `Repeat this passage: ${passage}\nThe passage again: ${passage}\nThe passage again:`,
  'code edit': `Rename b to y in this code:\n${code}\nThe code with b renamed:\n${code.replaceAll('b)', 'y)').slice(0, 40)}`,
};
const WORKLOADS: Record<string, string> = { ...ECHO_WORKLOADS, 'story (little echo)': 'Once upon a time' };
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

/** The guessed tokens a server's engine has had confirmed and refuted so far, from its /metrics. */
async function predictedTokens(server: BenchServer): Promise<{ validated: number; refuted: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const total = (name: string) => Number(new RegExp(`^autoglm_predicted_tokens_${name}_total(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { validated: total('validated'), refuted: total('refuted') };
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
  const ratios = new Medians();
  const guesses = new Map<string, { validated: number; refuted: number }>();
  const round = async (i: number, warming = false) => {
    for (const [name, prompt] of Object.entries(WORKLOADS)) {
      const rates = new Map<string, number>();
      const before = await predictedTokens(servers.get('lookup')!);
      for (const mode of i % 2 ? [...MODES].reverse() : MODES) {
        const answer = await complete(servers.get(mode)!, prompt);
        const seen = texts.get(name);
        if (seen === undefined) texts.set(name, answer.text);
        else assert.equal(answer.text, seen, `${name}: the answer with speculative ${mode} differs`);
        const tokensPerSecond = answer.tokens / answer.seconds;
        if (!warming) medians.record(`${name}\u0000${mode}`, tokensPerSecond);
        rates.set(mode, tokensPerSecond);
      }
      if (warming) continue;
      const after = await predictedTokens(servers.get('lookup')!);
      const sum = guesses.get(name) ?? { validated: 0, refuted: 0 };
      guesses.set(name, { validated: sum.validated + after.validated - before.validated, refuted: sum.refuted + after.refuted - before.refuted });
      ratios.record(name, rates.get('lookup')! / rates.get('off')!);
    }
  };
  await interleavedRepeats(() => round(0, true), round, ROUNDS);
  console.log(`completion tokens/s at temperature 0, ${TOKENS} tokens, parallel 1, threads ${THREADS}; median of ${ROUNDS} rounds, same answers asserted`);
  for (const name of Object.keys(WORKLOADS)) {
    for (const mode of MODES) console.log(medians.chart(`${name} / ${mode}`, `${name}\u0000${mode}`, 'tok/s', { labelWidth: 34, digits: 0 }));
  }
  console.log('');
  for (const name of Object.keys(WORKLOADS)) {
    const g = guesses.get(name)!;
    const ratio = ratios.of(name);
    const target = name in ECHO_WORKLOADS ? `(target >= 1.5x on echo-heavy work) ${ratio >= 1.5 ? 'PASS' : 'MISS'}` : '';
    console.log(
      `${`lookup / off, ${name}:`.padEnd(36)} ${ratio.toFixed(2)}x; guesses confirmed ${g.validated}, refuted ${g.refuted} in ${ROUNDS} rounds ${target}`,
    );
  }
} finally {
  for (const s of servers.values()) await stopServe(s.child);
}
