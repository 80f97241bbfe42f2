// Readers for the evaluation sets in ../shared/datasets (GSM8K, SVAMP, BIG-Bench Hard, Banking77, HumanEval), each
// item a question as a user would send it and its gold answer.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { normalizeAnswer } from './normalize.js';

export type AnswerKind = 'number' | 'option' | 'boolean' | 'text' | 'code';

export interface DatasetItem {
  id: string;
  /** What the user sends. */
  question: string;
  /** The gold answer, normalized (see normalizeAnswer); code items carry their reference solution. */
  answer: string;
  kind: AnswerKind;
  /** The task type a classifier should give this item. */
  task: 'math' | 'logic' | 'code' | 'classification';
  source: string;
}

const BBH_TASKS = {
  boolean_expressions: 'logic',
  causal_judgement: 'logic',
  date_understanding: 'logic',
  logical_deduction_three_objects: 'logic',
  multistep_arithmetic_two: 'math',
  navigate: 'logic',
  object_counting: 'math',
  snarks: 'logic',
  sports_understanding: 'logic',
  word_sorting: 'logic',
} as const;

export const DATASETS = ['gsm8k', 'svamp', 'banking77', 'humaneval', ...Object.keys(BBH_TASKS).map((t) => `bbh/${t}`)] as const;
export type DatasetName = (typeof DATASETS)[number];

/** $AUTOGLM_DATASETS_DIR, else ../shared/datasets from the working directory. */
export const datasetsDir = (env: NodeJS.ProcessEnv = process.env) => resolve(env.AUTOGLM_DATASETS_DIR ?? '../shared/datasets');

const kindOf = (answer: string): AnswerKind =>
  /^\([A-R]\)$/.test(answer) ? 'option' : /^(true|false|yes|no|valid|invalid)$/.test(answer) ? 'boolean' : Number.isFinite(Number(answer)) ? 'number' : 'text';

/** A CSV line with quoted fields (Banking77's texts contain commas). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted && c === '"' && line[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

export function loadDataset(name: DatasetName, dir = datasetsDir()): DatasetItem[] {
  const file = (f: string) => join(dir, f);
  switch (name) {
    case 'gsm8k':
      return readFileSync(file('gsm8k-test.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line, i) => {
          const row = JSON.parse(line) as { question: string; answer: string };
          return {
            id: `gsm8k-${i}`,
            question: row.question,
            answer: normalizeAnswer(row.answer.split('####').pop()!),
            kind: 'number',
            task: 'math',
            source: name,
          };
        });
    case 'svamp':
      return (JSON.parse(readFileSync(file('svamp.json'), 'utf8')) as { ID: string; Body: string; Question: string; Answer: number }[]).map((row) => ({
        id: row.ID,
        question: `${row.Body.trim().replace(/\.?$/, '.')} ${row.Question.trim()}`,
        answer: normalizeAnswer(String(row.Answer)),
        kind: 'number',
        task: 'math',
        source: name,
      }));
    case 'banking77':
      return readFileSync(file('banking77-test.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((line, i) => {
          const [text, category] = csvFields(line);
          return {
            id: `banking77-${i}`,
            question: `Classify this customer message into one banking intent category: "${text}"`,
            answer: category!,
            kind: 'text',
            task: 'classification',
            source: name,
          };
        });
    case 'humaneval':
      return gunzipSync(readFileSync(file('humaneval.jsonl.gz')))
        .toString('utf8')
        .trim()
        .split('\n')
        .map((line) => {
          const row = JSON.parse(line) as { task_id: string; prompt: string; canonical_solution: string };
          return {
            id: row.task_id,
            question: `Complete this Python function:\n\n${row.prompt}`,
            answer: row.canonical_solution,
            kind: 'code',
            task: 'code',
            source: name,
          };
        });
    default: {
      const task = name.slice('bbh/'.length) as keyof typeof BBH_TASKS;
      const { examples } = JSON.parse(readFileSync(file(`bbh/${task}.json`), 'utf8')) as { examples: { input: string; target: string }[] };
      return examples.map((e, i) => {
        const answer = normalizeAnswer(e.target);
        return { id: `${name}-${i}`, question: e.input, answer, kind: kindOf(answer), task: BBH_TASKS[task], source: name };
      });
    }
  }
}
