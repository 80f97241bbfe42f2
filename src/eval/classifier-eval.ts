// The task parser's accuracy on a held-out labelled set, per class: a slice of each evaluation dataset for the classes
// they cover (math, logic, code, classification), and requests written for the classes none covers.
import { loadDataset, type DatasetName } from '../datasets/index.js';
import { classifyTask, TASK_TYPES } from '../reasoning/index.js';
import { HELD_OUT_REQUESTS } from './held-out-tasks.js';

export interface ClassRow {
  task: string;
  items: number;
  correct: number;
  accuracy: number;
  /** What this class was mistaken for, most often first. */
  confusedWith: [string, number][];
}

/** Every dataset with a known task type; a fixed stride takes a held-out slice of each, the same on every run. */
const SOURCES: DatasetName[] = [
  'gsm8k',
  'svamp',
  'humaneval',
  'banking77',
  'bbh/boolean_expressions',
  'bbh/causal_judgement',
  'bbh/date_understanding',
  'bbh/logical_deduction_three_objects',
  'bbh/multistep_arithmetic_two',
  'bbh/navigate',
  'bbh/object_counting',
  'bbh/snarks',
  'bbh/sports_understanding',
  'bbh/word_sorting',
];

/** `written`: how many of the items are the requests written for the classes no dataset covers. */
export function evaluateClassifier(perSource = 100, dir?: string): { rows: ClassRow[]; overall: number; items: number; written: number } {
  const byTask = new Map<string, { items: number; correct: number; confused: Map<string, number> }>();
  const score = (item: { task: string; question: string }) => {
    const got = classifyTask(item.question);
    const row = byTask.get(item.task) ?? { items: 0, correct: 0, confused: new Map() };
    row.items++;
    if (got === item.task) row.correct++;
    else row.confused.set(got, (row.confused.get(got) ?? 0) + 1);
    byTask.set(item.task, row);
  };
  for (const source of SOURCES) {
    const items = loadDataset(source, dir);
    const stride = Math.max(1, Math.floor(items.length / perSource));
    for (let i = stride - 1; i < items.length && (i + 1) / stride <= perSource; i += stride) score(items[i]!);
  }
  HELD_OUT_REQUESTS.forEach(score);
  const order = (task: string) => (TASK_TYPES as readonly string[]).indexOf(task);
  const rows = [...byTask]
    .sort((a, b) => order(a[0]) - order(b[0]))
    .map(([task, r]) => ({
      task,
      items: r.items,
      correct: r.correct,
      accuracy: r.correct / r.items,
      confusedWith: [...r.confused].sort((a, b) => b[1] - a[1]),
    }));
  const items = rows.reduce((a, r) => a + r.items, 0);
  return { rows, overall: rows.reduce((a, r) => a + r.correct, 0) / items, items, written: HELD_OUT_REQUESTS.length };
}
