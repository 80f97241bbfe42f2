// The load generator, loaded when `bench` or `tune` runs rather than when the CLI starts: its latency histograms are
// WebAssembly that cost every process ~13 MB of memory, `autoglm serve` included.
export const loadGenerator = () => import('../loadgen/index.js');
