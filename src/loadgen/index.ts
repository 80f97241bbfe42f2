// Door of the load generator room: `autoglm bench`'s workloads, runner and reports.
export { runBench, type BenchOptions, type BenchResult, type Percentiles, type Slo } from './run-bench.js';
export { workload, arrivals, type WorkloadOptions, type BenchPrompt } from './workload.js';
export { textReport, htmlReport, compareReport, compareWarnings } from './bench-report.js';
export { BENCH_APIS, benchDialects, type BenchApi, type BenchDialect } from './bench-dialects.js';
