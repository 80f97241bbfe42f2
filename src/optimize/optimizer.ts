// The prompt search behind `autoglm optimize`. Each round the model proposes new instructions from the scores so far
// (OPRO's meta-prompt); candidates (an instruction, a number of bootstrapped demonstrations, a strategy) are chosen
// by TPE over those discrete choices and measured by successive halving on the dev split: all on a ninth of it, the
// best third on a third, the best on all of it. `random` measures uniformly drawn candidates on the whole dev split,
// on the same budget. The budget is in dev passes: at most budget x |dev| model calls on dev items (an sc@K candidate
// pays K per item). Calls on train (bootstrapping demonstrations) and meta-prompt calls are counted apart.
import { complete, seededRandom, type ChatModel } from '../core/index.js';
import type { DatasetItem } from '../datasets/index.js';
import type { PromptDemo } from '../prompts/index.js';
import { randomPoint, suggestTpe, type Param, type Point } from '../tune/index.js';
import { callsPerItem, candidateKey, DEMO_CHOICES, SEED_INSTRUCTIONS, STRATEGY_CHOICES, type Candidate } from './candidate.js';
import { itemRequest, scoreItems, type ItemOutcome, type Score, type ScoreOptions } from './item-scorer.js';
import { metaPrompt, parseProposal } from './meta-prompt.js';
import { loadState, saveState, type OptimizeState } from './optimize-state.js';

export const SEARCH_METHODS = ['tpe', 'random'] as const;
export type SearchMethod = (typeof SEARCH_METHODS)[number];

/** Successive halving keeps the best 1/ETA of a rung for the next, which has ETA times the items. */
const ETA = 3;
const BRACKET = 9;
const MIN_RUNG = 15;

/** The one-sample form of a strategy: a vote samples the chain-of-thought prompt. */
const singleSample = (strategy: string) => (/^(sc|asc|bon)@/.test(strategy) ? 'cot' : strategy);
/** Candidates per round of random search (each measured on the whole dev split). */
const RANDOM_PER_ROUND = 3;
/** Instructions asked of the model per bracket: proposals cost no dev calls until measured, and a bracket measures many cheaply. */
const PROPOSALS_PER_BRACKET = 6;

export interface OptimizeOptions {
  /** The model with the reasoning layer around it. */
  model: ChatModel;
  modelName: string;
  dataset: string;
  train: readonly DatasetItem[];
  dev: readonly DatasetItem[];
  budget: number;
  method: SearchMethod;
  seed: number;
  concurrency: number;
  maxTokens?: number;
  /** New instructions asked of the model each round. */
  proposals?: number;
  statePath?: string;
  fresh?: boolean;
  onTrial?: (trial: Trial) => void;
  /** After each dev call made (not replayed from the state): dev calls so far and the budget's. */
  onCalls?: (devCalls: number, budgetCalls: number) => void;
}

export interface Trial {
  n: number;
  round: number;
  candidate: Candidate;
  items: number;
  accuracy: number;
  /** This trial's calls on its items (replayed ones included). */
  calls: number;
  tokensPerItem: number;
  /** Dev calls spent by the search when this trial was done. */
  devCalls: number;
  /** A proposed instruction measured under the probe structure, to compare instructions. */
  probe?: boolean;
  /** What the search recommended once this trial was done. */
  recommended?: Candidate;
}

export interface OptimizeResult {
  method: SearchMethod;
  demos: PromptDemo[];
  trials: Trial[];
  /** The best candidate measured as served on the whole dev split. */
  best: Trial;
  /** The prompt the search recommends: the best structure with the best instruction found under its probe. */
  recommended: Candidate;
  devCalls: number;
  budgetCalls: number;
  trainCalls: number;
  metaCalls: number;
  instructions: string[];
  /** Why the search ended. */
  stopped: 'budget' | 'rounds';
}

/** Demonstrations bootstrapped from train (DSPy's BootstrapFewShot): items the model answered right step by step. */
async function bootstrapDemos(o: OptimizeOptions, state: OptimizeState): Promise<{ demos: PromptDemo[]; calls: number }> {
  if (state.demos) return { demos: state.demos, calls: state.trainCalls };
  const teacher: Candidate = { instruction: '', demos: 0, strategy: 'cot' };
  const demos: PromptDemo[] = [];
  let calls = 0;
  for (const [i, item] of o.train.entries()) {
    const report = { headers: {} as Record<string, string>, reasoning: undefined as Record<string, unknown> | undefined };
    try {
      const result = await complete(o.model, itemRequest(teacher, item, i, { ...o, demos: [] }), {
        signal: new AbortController().signal,
        requestId: `optimize-train-${i}`,
        report,
      });
      calls += Number(report.reasoning?.calls ?? 1);
      const text = result.choices[0]?.text ?? '';
      if (report.reasoning?.answer === item.answer && text.trim()) demos.push({ input: item.question, answer: text.trim() });
    } catch {
      calls++;
    }
  }
  state.demos = demos;
  state.trainCalls = calls;
  return { demos, calls };
}

export async function optimize(o: OptimizeOptions): Promise<OptimizeResult> {
  const state = loadState(o);
  const save = () => o.statePath && saveState(o.statePath, state);
  const { demos, calls: trainCalls } = await bootstrapDemos(o, state);
  save();
  const budgetCalls = o.budget * o.dev.length;
  const pool: string[] = [...SEED_INSTRUCTIONS];
  const demoChoices = DEMO_CHOICES.filter((d) => d <= demos.length);
  const trials: Trial[] = [];
  let devCalls = 0;
  let metaCalls = 0;
  let attempted = 0;
  /** The dev items each candidate has paid for in this run's path (replayed from the state or called now). */
  const counted = new Set<string>();
  const failures = { count: 0, last: undefined as string | undefined };
  let live = 0;
  const scoring: ScoreOptions = {
    ...o,
    demos,
    memo: state.memo,
    failures,
    onItem: (x: ItemOutcome) => {
      attempted++;
      live += x.calls;
      o.onCalls?.(devCalls + live, budgetCalls);
    },
  };
  const pointOf = (c: Candidate): Point => ({ instruction: String(pool.indexOf(c.instruction)), demos: String(c.demos), strategy: c.strategy });
  const candidateOf = (p: Point): Candidate => ({ instruction: pool[Number(p.instruction)]!, demos: Number(p.demos), strategy: String(p.strategy) });
  const space = (): Param[] => [
    { name: 'instruction', kind: 'cat', values: pool.map((_, i) => String(i)) },
    { name: 'demos', kind: 'cat', values: demoChoices.map(String) },
    { name: 'strategy', kind: 'cat', values: [...STRATEGY_CHOICES] },
  ];
  const unpaid = (c: Candidate, n: number) => {
    const key = candidateKey(c);
    const items: number[] = [];
    for (let i = 0; i < n; i++) if (!counted.has(`${key}#${i}`)) items.push(i);
    return items;
  };
  /** What measuring a candidate on the first `n` dev items costs: the items it has not been measured on. */
  const cost = (c: Candidate, n: number) => unpaid(c, n).length * callsPerItem(c);
  const measure = async (c: Candidate, n: number, round: number, probe = false): Promise<Trial | undefined> => {
    if (devCalls + cost(c, n) > budgetCalls) return undefined;
    const fresh = unpaid(c, n);
    live = 0;
    const score: Score = await scoreItems(c, o.dev.slice(0, n), 'dev', scoring);
    // Items replayed from the state count as spent, as when they were called: a resumed run follows the same path.
    const memo = state.memo[candidateKey(c)]!;
    for (const i of fresh) {
      counted.add(`${candidateKey(c)}#${i}`);
      devCalls += memo[`dev:${i}`]!.calls;
    }
    save();
    if (failures.count >= 3 && failures.count === attempted) throw new Error(`every call failed: ${failures.last}`);
    const trial: Trial = {
      n: trials.length + 1,
      round,
      candidate: c,
      items: n,
      accuracy: score.accuracy,
      calls: score.calls,
      tokensPerItem: score.items ? score.tokens / score.items : 0,
      devCalls,
      ...(probe && { probe }),
    };
    trials.push(trial);
    trial.recommended = recommendation();
    o.onTrial?.(trial);
    return trial;
  };

  // A first rung of a handful of items says little (on the same items, most candidates tie): it has at least
  // MIN_RUNG items, and a rung that would not be smaller than the next is skipped.
  const D = o.dev.length;
  const rungs = [...new Set([Math.min(D, Math.max(MIN_RUNG, Math.ceil(D / BRACKET))), Math.min(D, Math.max(MIN_RUNG, Math.ceil(D / ETA))), D])];
  /** The best candidate measured as it would be served; probes (an instruction under a single-sample stand-in) only compare instructions. */
  const incumbent = (): Trial | undefined => {
    const served = trials.some((t) => !t.probe) ? trials.filter((t) => !t.probe) : trials;
    const largest = Math.max(0, ...served.map((t) => t.items));
    return served
      .filter((t) => t.items === largest)
      .sort((a, b) => b.accuracy - a.accuracy || callsPerItem(a.candidate) - callsPerItem(b.candidate) || a.n - b.n)[0];
  };
  /** Each instruction's score on the most items it was measured on; under one structure when there are enough such. */
  const scoredInstructions = (structure?: Omit<Candidate, 'instruction'>) => {
    const best = new Map<string, { items: number; score: number }>();
    const under = trials.filter((t) => structure && t.candidate.demos === structure.demos && t.candidate.strategy === structure.strategy);
    for (const t of new Set(under.map((t) => t.candidate.instruction)).size >= 2 ? under : trials) {
      const b = best.get(t.candidate.instruction);
      if (!b || t.items > b.items || (t.items === b.items && t.accuracy > b.score)) best.set(t.candidate.instruction, { items: t.items, score: t.accuracy });
    }
    // Latest first, so that among equal scores the newest is listed as the best.
    return [...best].map(([instruction, b]) => ({ instruction, score: b.score })).reverse();
  };
  const propose = async (round: number, structure?: Omit<Candidate, 'instruction'>): Promise<string[]> => {
    const fresh: string[] = [];
    for (let i = 0; i < (o.proposals ?? (o.method === 'tpe' ? PROPOSALS_PER_BRACKET : RANDOM_PER_ROUND)); i++) {
      const at = `${round}:${i}`;
      let text = state.proposals[at];
      if (text === undefined) {
        const result = await complete(
          o.model,
          {
            model: o.modelName,
            input: { type: 'messages', messages: [{ role: 'user', content: metaPrompt(scoredInstructions(structure), o.dataset) }] },
            stop: [],
            responseFormat: { type: 'text' },
            n: 1,
            stream: false,
            maxTokens: 120,
            temperature: 0.7,
            seed: o.seed * 7919 + round * 31 + i,
          },
          { signal: new AbortController().signal, requestId: `optimize-meta-${at}` },
        ).catch(() => undefined);
        metaCalls++;
        text = state.proposals[at] = result?.choices[0]?.text ?? '';
      }
      const instruction = parseProposal(text);
      if (instruction !== undefined && !pool.includes(instruction)) {
        pool.push(instruction);
        fresh.push(instruction);
      }
    }
    return fresh;
  };

  /** Successive halving of one bracket; false when the budget ran out. */
  const halving = async (candidates: Candidate[], round: number, probes: ReadonlySet<string>, leader?: Candidate): Promise<boolean> => {
    let alive = candidates;
    for (const [r, n] of rungs.entries()) {
      const measured: Trial[] = [];
      for (const c of alive) {
        const t = await measure(c, n, round, probes.has(candidateKey(c)));
        if (!t) return false;
        measured.push(t);
      }
      if (r === rungs.length - 1) break;
      // The best third goes on, and every candidate tied with the last of them: on the same items a tie says the
      // rung could not tell them apart, and cutting by anything else (cost, order) would decide blindly.
      measured.sort((a, b) => b.accuracy - a.accuracy || a.n - b.n);
      // The last rung is the whole dev split: only the best goes there, and only when it beats the leader that is
      // already measured there on the same items (a tie would spend the most calls of the bracket to learn nothing).
      const last = r === rungs.length - 2;
      const keep = last ? 1 : Math.max(1, Math.ceil(measured.length / ETA));
      const cut = measured[keep - 1]!.accuracy;
      alive = measured
        .filter((t) => t.accuracy >= cut)
        .slice(0, last ? 1 : 2 * keep)
        .map((t) => t.candidate);
      if (last && leader && cost(leader, D) === 0 && measured[0]!.accuracy <= accuracyOn(leader, n)) break;
    }
    return true;
  };
  /** A measured candidate's accuracy on the first `n` dev items, from what was measured. */
  const accuracyOn = (c: Candidate, n: number) => {
    const memo = state.memo[candidateKey(c)] ?? {};
    let right = 0;
    for (let i = 0; i < n; i++) if (memo[`dev:${i}`]?.correct) right++;
    return right / n;
  };
  /**
   * What the search recommends now: the best structure served (demonstrations and strategy), with the instruction
   * that did best under its probe when one did better than its own.
   */
  const recommendation = (): Candidate | undefined => {
    const best = incumbent()?.candidate;
    if (!best || o.method === 'random') return best;
    const probe = { demos: best.demos, strategy: singleSample(best.strategy) };
    return { ...best, instruction: bestUnder(probe) ?? best.instruction };
  };
  /** The instruction that scored best on the whole dev split under a structure, if any was measured so. */
  const bestUnder = (structure: Omit<Candidate, 'instruction'>): string | undefined =>
    trials
      .filter((t) => t.items === D && t.candidate.demos === structure.demos && t.candidate.strategy === structure.strategy)
      // On a tie the later instruction wins: the measure saw no difference, and building on the newer one lets
      // harmless words accumulate until one that helps turns up (neutral drift, as in evolutionary search).
      .sort((a, b) => b.accuracy - a.accuracy || b.n - a.n)[0]?.candidate.instruction;

  const random = seededRandom(o.seed * 31 + 7);
  let stopped: OptimizeResult['stopped'] = 'rounds';
  search: for (let round = 0; round < 1000; round++) {
    const best = incumbent()?.candidate;
    const probe = { demos: best?.demos ?? 0, strategy: singleSample(best?.strategy ?? 'direct') };
    const fresh = round === 0 ? [] : await propose(round, o.method === 'tpe' ? probe : undefined);
    const seen = new Set<string>();
    const candidates: Candidate[] = [];
    const add = (c: Candidate) => {
      if (!seen.has(candidateKey(c)) && cost(c, o.dev.length) > 0) {
        seen.add(candidateKey(c));
        candidates.push(c);
      }
    };
    if (o.method === 'random') {
      for (let i = 0; i < RANDOM_PER_ROUND * 4 && candidates.length < RANDOM_PER_ROUND; i++) add(candidateOf(randomPoint(space(), random)));
      for (const c of candidates) if (!(await measure(c, o.dev.length, round))) break search;
      if (candidates.length === 0) break;
      continue;
    }
    // Proposed instructions are compared under one probe: the best structure so far (demonstrations and strategy),
    // its single-sample form for a vote (sc@K samples the cot prompt). Instruction and structure act apart on the
    // answers, so what wins under the probe wins under the vote, at a fraction of the calls.
    const probes = new Set<string>();
    const leading = bestUnder(probe) ?? best?.instruction ?? '';
    if (round > 0) {
      for (const instruction of [leading, ...fresh]) {
        const c = { instruction, ...probe };
        add(c);
        if (probe.strategy !== best?.strategy) probes.add(candidateKey(c));
      }
    }
    // The first bracket sweeps the structure one factor at a time with the first seed instruction (every strategy
    // with the most demonstrations, every number of demonstrations with chain-of-thought), so no strategy goes
    // untried; TPE explores the whole space, combinations included, from then on.
    if (round === 0) {
      const most = demoChoices[demoChoices.length - 1] ?? 0;
      for (const strategy of STRATEGY_CHOICES) add({ instruction: pool[0]!, demos: most, strategy });
      for (const demos of demoChoices) add({ instruction: pool[0]!, demos, strategy: 'cot' });
    }
    if (candidates.length === 0) break;
    if (!(await halving(candidates, round, probes, round > 0 ? { instruction: leading, ...probe } : undefined))) {
      stopped = 'budget';
      break;
    }
    if (round === 0) continue;
    // TPE explores the whole space with one candidate a round, measured on the first rung and taken to the whole
    // dev split only when it beats the best served candidate on those same items.
    const history = trials.filter((t) => !t.probe).map((t) => ({ point: pointOf(t.candidate), score: t.accuracy }));
    let explorer: Candidate | undefined;
    for (let i = 0; !explorer && i < BRACKET * 4; i++) {
      const c = candidateOf(suggestTpe(space(), history, seededRandom(o.seed * 997 + round * 101 + i), { startup: BRACKET }));
      if (!seen.has(candidateKey(c)) && cost(c, D) > 0) explorer = c;
    }
    if (!explorer) continue;
    const first = await measure(explorer, rungs[0]!, round);
    if (!first) {
      stopped = 'budget';
      break;
    }
    const leader = incumbent();
    const leaderFirst = leader ? accuracyOn(leader.candidate, rungs[0]!) : 0;
    if (first.accuracy > leaderFirst && rungs.length > 1 && !(await measure(explorer, D, round))) {
      stopped = 'budget';
      break;
    }
  }
  if (o.method === 'random' && devCalls + o.dev.length > budgetCalls) stopped = 'budget';
  const best = incumbent();
  const recommended = recommendation();
  if (!best || !recommended) throw new Error(`the budget of ${o.budget} dev passes (${budgetCalls} calls) cannot pay for one candidate; raise --budget`);
  return { method: o.method, demos, trials, best, recommended, devCalls, budgetCalls, trainCalls, metaCalls, instructions: pool, stopped };
}
