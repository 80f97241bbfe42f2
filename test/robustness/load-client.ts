// The overload test's load generator, in a child process: it sends and reads the requests on its own CPU time, so
// the test process's CPU time is the server's alone.
import { Pool } from 'undici';
import { runLoad, type LoadOrder } from '../../bench/overload/load-loop.js';

export type { LoadOrder, LoadResult } from '../../bench/overload/load-loop.js';

const pool = new Pool(process.env.LOAD_URL!, { connections: 64 });
const body = process.env.LOAD_BODY!;

process.on('message', (order: LoadOrder | 'close') => {
  if (order === 'close') {
    void pool.close().then(() => process.disconnect?.());
    return;
  }
  void runLoad(pool, body, order).then((result) => process.send!(result));
});
