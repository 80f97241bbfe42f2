// bench:routing: 4 sim replicas, many users sharing long system prompts in multi-turn chats; policies compared on
// prefix-cache hit ratio, time to first token and throughput, through the real ReplicaPool.
import { seededRandom, systemClock, type ChatMessage } from '../src/core/index.js';
import { SimEngine } from '../src/engines/sim/index.js';
import { Replica, ReplicaPool, createPolicy, type PolicyName } from '../src/router/index.js';

const REPLICAS = 4;
const USERS = 48;
const SYSTEM_PROMPTS = 16;
const TURNS = 8;
const CONCURRENCY = 16;
const SYSTEM_WORDS = 1200;

const words = (n: number, seed: number) => {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => `w${Math.floor(r.next() * 5000)}`).join(' ');
};
const systems = Array.from({ length: SYSTEM_PROMPTS }, (_, i) => words(SYSTEM_WORDS, 1000 + i));

/** Each user's conversation, turn by turn: the whole history is re-sent, as chat clients do. */
function conversation(user: number): ChatMessage[][] {
  const history: ChatMessage[] = [{ role: 'system', content: systems[user % SYSTEM_PROMPTS]! }];
  const turns: ChatMessage[][] = [];
  for (let t = 0; t < TURNS; t++) {
    history.push({ role: 'user', content: words(40, user * 100 + t) });
    turns.push([...history]);
    history.push({ role: 'assistant', content: words(30, user * 1000 + t) });
  }
  return turns;
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

async function run(policy: PolicyName) {
  const random = seededRandom(5);
  const replicas = Array.from(
    { length: REPLICAS },
    (_, i) =>
      new Replica(
        `sim-${i}`,
        new SimEngine({
          model: 'chat',
          preset: 'llama-8b-h100',
          seed: i + 1,
          itlMs: 2,
          outputTokens: 8,
          blockSize: 16,
          cacheBlocks: 1000,
        }),
        1,
        { failureThreshold: 3, openMs: 1000 },
        systemClock,
      ),
  );
  const pool = new ReplicaPool({
    model: 'chat',
    replicas,
    policy: createPolicy(policy, random),
    retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    clock: systemClock,
    random,
  });
  // Users take turns in a shuffled but seeded order, each user's turns in sequence.
  const queue: ChatMessage[][] = [];
  const convos = Array.from({ length: USERS }, (_, u) => conversation(u));
  const order = seededRandom(9);
  const cursors = new Array(USERS).fill(0) as number[];
  while (queue.length < USERS * TURNS) {
    const u = Math.floor(order.next() * USERS);
    if (cursors[u]! < TURNS) queue.push(convos[u]![cursors[u]!++]!);
  }
  const ttfts: number[] = [];
  let prompt = 0;
  let cached = 0;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < queue.length) {
        const messages = queue[next++]!;
        const t = performance.now();
        let first = 0;
        const req = { model: 'chat', input: { type: 'messages' as const, messages }, stop: [], responseFormat: { type: 'text' as const }, n: 1, stream: true };
        for await (const chunk of pool.stream(req, { signal: new AbortController().signal, requestId: 'b' })) {
          if (chunk.type === 'text-delta' && !first) first = performance.now() - t;
          if (chunk.type === 'usage') {
            prompt += chunk.usage.promptTokens;
            cached += chunk.usage.cachedPromptTokens;
          }
        }
        ttfts.push(first);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { policy, hit: cached / prompt, p50: quantile(ttfts, 0.5), p99: quantile(ttfts, 0.99), rps: queue.length / seconds };
}

const results = [];
for (const policy of ['round_robin', 'least_outstanding', 'prefix_aware'] as const) {
  process.stderr.write(`bench:routing: ${policy}...\n`);
  results.push(await run(policy));
}
console.log(
  `\n${REPLICAS} sim replicas (llama-8b-h100 timing, 1000 cache blocks each), ${USERS} users, ${SYSTEM_PROMPTS} system prompts of ~${SYSTEM_WORDS} tokens, ${TURNS} turns, concurrency ${CONCURRENCY}`,
);
console.log(`${'policy'.padEnd(18)} ${'cache hit'.padStart(9)} ${'TTFT p50'.padStart(9)} ${'TTFT p99'.padStart(9)} ${'req/s'.padStart(7)}   hit ratio`);
for (const r of results) {
  console.log(
    `${r.policy.padEnd(18)} ${(r.hit * 100).toFixed(1).padStart(8)}% ${r.p50.toFixed(1).padStart(7)}ms ${r.p99.toFixed(1).padStart(7)}ms ${r.rps.toFixed(1).padStart(7)}   ${'#'.repeat(Math.round(r.hit * 40))}`,
  );
}
const rr = results[0]!;
const pa = results[2]!;
console.log(`\nprefix-aware hit ratio ${(pa.hit * 100).toFixed(1)}% (target >= 70%) ${pa.hit >= 0.7 ? 'PASS' : 'MISS'}`);
console.log(`TTFT p50 round robin / prefix-aware: ${(rr.p50 / pa.p50).toFixed(2)}x (target >= 2x) ${rr.p50 / pa.p50 >= 2 ? 'PASS' : 'MISS'}`);
