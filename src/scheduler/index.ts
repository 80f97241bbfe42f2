// Door of the scheduler room: admission control shared by engines.
export { BoundedPool, type BoundedPoolOptions } from './bounded-pool.js';
