// What a benchmark sends: questions from a dataset, or synthetic prompts with set lengths and shared prefixes.
import { seededRandom } from '../core/index.js';
import { loadDataset, type DatasetName } from '../datasets/index.js';

export interface BenchPrompt {
  messages: { role: 'system' | 'user'; content: string }[];
  maxTokens: number;
}

export interface WorkloadOptions {
  dataset?: DatasetName;
  datasetsDir?: string;
  /** Synthetic prompts: about this many words in the user message (roughly a token each). */
  inputTokens: number;
  outputTokens: number;
  /** Words of a system prompt shared by every request of a group, the part a prefix cache can reuse. */
  sharedPrefixTokens: number;
  /** How many different shared prefixes (e.g. tenants or apps with their own system prompt). */
  prefixGroups: number;
  seed: number;
}

const VOCABULARY =
  'the a of to and in is that for it as with was on be at by this had not are but from or have an they which one you were all her she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'.split(
    ' ',
  );

function words(count: number, random: () => number): string {
  return Array.from({ length: count }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]!).join(' ');
}

/** An endless, reproducible supply of prompts. */
export function workload(options: WorkloadOptions): (i: number) => BenchPrompt {
  if (options.dataset) {
    const items = loadDataset(options.dataset, options.datasetsDir);
    return (i) => ({ messages: [{ role: 'user', content: items[i % items.length]!.question }], maxTokens: options.outputTokens });
  }
  const random = seededRandom(options.seed);
  const prefixes = Array.from({ length: Math.max(1, options.prefixGroups) }, () => words(options.sharedPrefixTokens, () => random.next()));
  return (i) => {
    const r = seededRandom(options.seed * 7919 + i);
    const system = prefixes[i % prefixes.length]!;
    return {
      messages: [
        ...(options.sharedPrefixTokens > 0 ? [{ role: 'system' as const, content: system }] : []),
        { role: 'user', content: words(options.inputTokens, () => r.next()) },
      ],
      maxTokens: options.outputTokens,
    };
  };
}

/** Send times for an open-loop run, in ms from the start: evenly spaced, or Poisson (exponential gaps). */
export function arrivals(rate: number, count: number, kind: 'constant' | 'poisson', seed: number): number[] {
  const random = seededRandom(seed);
  const times: number[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    times.push(t);
    t += kind === 'constant' ? 1000 / rate : (-Math.log(1 - random.next()) * 1000) / rate;
  }
  return times;
}
