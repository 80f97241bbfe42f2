// Loaded first by every test process: its own data and cache folders, so files that run side by side never share a
// ledger, a tenant store or a model cache (and nothing lands in the user's home).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = mkdtempSync(join(tmpdir(), 'autoglm-test-'));
process.env.AUTOGLM_DATA_DIR = join(root, 'data');
process.env.AUTOGLM_CACHE_DIR = join(root, 'cache');
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
