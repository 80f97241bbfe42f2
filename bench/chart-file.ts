// A bench's chart as an SVG file under test-output/, beside the table it prints: a person opens it to see the shape.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ChartOptions, svgChart } from '../src/report/index.js';

const outDir = resolve(import.meta.dirname, '..', 'test-output');

/** Writes the chart to test-output/<file> and says where, as every bench's last line. */
export function writeChart(file: string, options: ChartOptions): void {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, file);
  writeFileSync(path, svgChart(options));
  console.log(`chart: ${path}`);
}
