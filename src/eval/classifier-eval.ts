// The task parser's accuracy on a held-out labelled set drawn from the evaluation datasets, per class.
import { loadDataset, type DatasetName } from '../datasets/index.js';
import { classifyTask } from '../reasoning/index.js';

export interface ClassRow {
  task: string;
  items: number;
  correct: number;
  accuracy: number;
  /** What this class was mistaken for, most often first. */
  confusedWith: [string, number][];
}

/** Every dataset with a known task type; a fixed stride takes a held-out slice of each, the same on every run. */
const SOURCES: DatasetName[] = ['gsm8k', 'svamp', 'humaneval', 'banking77', 'bbh/boolean_expressions', 'bbh/causal_judgement', 'bbh/date_understanding',
  'bbh/logical_deduction_three_objects', 'bbh/multistep_arithmetic_two', 'bbh/navigate', 'bbh/object_counting', 'bbh/snarks', 'bbh/sports_understanding', 'bbh/word_sorting'];

export function evaluateClassifier(perSource = 100, dir?: string): { rows: ClassRow[]; overall: number; items: number } {
  const byTask = new Map<string, { items: number; correct: number; confused: Map<string, number> }>();
  for (const source of SOURCES) {
    const items = loadDataset(source, dir);
    const stride = Math.max(1, Math.floor(items.length / perSource));
    for (let i = stride - 1; i < items.length && (i + 1) / stride <= perSource; i += stride) {
      const item = items[i]!;
      const got = classifyTask(item.question);
      const row = byTask.get(item.task) ?? { items: 0, correct: 0, confused: new Map() };
      row.items++;
      if (got === item.task) row.correct++;
      else row.confused.set(got, (row.confused.get(got) ?? 0) + 1);
      byTask.set(item.task, row);
    }
  }
  const rows = [...byTask].map(([task, r]) => ({
    task, items: r.items, correct: r.correct, accuracy: r.correct / r.items, confusedWith: [...r.confused].sort((a, b) => b[1] - a[1]),
  }));
  const items = rows.reduce((a, r) => a + r.items, 0);
  return { rows, overall: rows.reduce((a, r) => a + r.correct, 0) / items, items };
}
