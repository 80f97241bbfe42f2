// Quantization through llama.cpp's own llama_model_quantize, called over FFI (koffi) in the library node-llama-cpp ships.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import koffi from 'koffi';
import type { QuantType } from '../../config/index.js';

/** llama.cpp's `enum llama_ftype` values for the types we offer. */
const LLAMA_FTYPE: Record<QuantType, number> = {
  f32: 0,
  f16: 1,
  q4_0: 2,
  q4_1: 3,
  q8_0: 7,
  q5_0: 8,
  q5_1: 9,
  q2_k: 10,
  q3_k_s: 11,
  q3_k_m: 12,
  q3_k_l: 13,
  q4_k_s: 14,
  q4_k_m: 15,
  q5_k_s: 16,
  q5_k_m: 17,
  q6_k: 18,
  bf16: 32,
};

export interface QuantizeProgress {
  tensor: number;
  tensors: number;
}

export interface QuantizeResult {
  inputBytes: number;
  outputBytes: number;
  seconds: number;
}

interface LlamaQuantizeApi {
  defaults: () => { nthread: number; ftype: number };
  quantize: { async: (input: string, output: string, params: object, done: (err: unknown, rc: number) => void) => void };
  setLog: (callback: unknown, userData: null) => void;
  logCallbackType: ReturnType<typeof koffi.proto>;
}

let api: LlamaQuantizeApi | undefined;

/** A quantization refused or failed, in one line a CLI prints as it is. */
export class QuantizeError extends Error {
  override name = 'QuantizeError';
}

/** The same file under two names (a symlink, `./x` and `x`, a hard link): writing one would replace the other. */
function sameFile(a: string, b: string): boolean {
  if (!existsSync(a) || !existsSync(b)) return false;
  if (realpathSync(a) === realpathSync(b)) return true;
  const [sa, sb] = [statSync(a), statSync(b)];
  return sa.dev === sb.dev && sa.ino === sb.ino;
}

/** llama.cpp's reason, said the way a user can act on; its own text otherwise, without the per-tensor noise. */
function failureMessage(input: string, rc: number, logLines: readonly string[]): string {
  const requantized = logLines.map((l) => /requantizing from type (\S+) is disabled/.exec(l)).find(Boolean);
  if (requantized) {
    return `${basename(input)} is already quantized (${requantized[1]}), and llama.cpp does not quantize a quantized model again: quantize from its F16 or F32 file`;
  }
  const reason = logLines.map((l) => /failed to quantize: (.*)$/.exec(l)?.[1]).find(Boolean);
  return `llama.cpp could not quantize ${basename(input)}: ${reason ?? (logLines.slice(-3).join(' | ') || `error ${rc}`)}`;
}

function platformPackage(): string {
  const os = process.platform === 'darwin' ? 'mac' : process.platform === 'win32' ? 'win' : 'linux';
  return `@node-llama-cpp/${os}-${process.arch}`;
}

/** The CPU build of libllama inside node-llama-cpp's prebuilt package for this platform. */
export function findLibllama(): string {
  // The package exports only its entry (dist/index.js); its bins/ folder sits beside dist/.
  const entry = createRequire(import.meta.url).resolve(platformPackage());
  const binsDir = join(dirname(entry), '..', 'bins');
  for (const sub of readdirSync(binsDir)) {
    const lib = readdirSync(join(binsDir, sub)).find((f) => /^(lib)?llama(\.v[\d.]+)?\.(so|dylib|dll)$/.test(f));
    if (lib) return join(binsDir, sub, lib);
  }
  throw new Error(`libllama not found in ${binsDir}`);
}

function loadApi(): LlamaQuantizeApi {
  if (api) return api;
  const lib = koffi.load(findLibllama());
  // llama_model_quantize_params has grown across llama.cpp versions; only its first two fields (nthread, ftype) are
  // stable. We declare it larger than any version so the callee's struct always fits in our buffer (returned by
  // hidden pointer on every ABI we ship for, as it is bigger than 16 bytes) and only touch those two fields.
  const Params = koffi.struct('llama_model_quantize_params_head', { nthread: 'int32', ftype: 'int32', rest: koffi.array('uint8', 248) });
  const logCallbackType = koffi.proto('void autoglm_llama_log(int level, const char *text, void *user)');
  lib.func('void llama_backend_init()')();
  api = {
    defaults: lib.func('llama_model_quantize_default_params', Params, []) as LlamaQuantizeApi['defaults'],
    quantize: lib.func(
      'uint32 llama_model_quantize(const char *input, const char *output, const llama_model_quantize_params_head *params)',
    ) as unknown as LlamaQuantizeApi['quantize'],
    setLog: lib.func('void llama_log_set(autoglm_llama_log *callback, void *user)') as LlamaQuantizeApi['setLog'],
    logCallbackType,
  };
  return api;
}

/** Quantizes `input` into `output`. Runs off the main thread; progress comes from llama.cpp's per-tensor log lines. */
export async function quantizeModel(
  input: string,
  output: string,
  type: QuantType,
  options: { threads?: number; onProgress?: (p: QuantizeProgress) => void } = {},
): Promise<QuantizeResult> {
  if (sameFile(input, output)) {
    throw new QuantizeError(`the output ${output} is the input model itself; write the quantized model to another path`);
  }
  const { defaults, quantize, setLog, logCallbackType } = loadApi();
  const params = defaults();
  params.ftype = LLAMA_FTYPE[type];
  params.nthread = options.threads ?? 0;
  await mkdir(dirname(output), { recursive: true });
  const partial = `${output}.part`;
  const started = Date.now();
  const logLines: string[] = [];
  const onLog = koffi.register((_level: number, text: string) => {
    const m = /^\[\s*(\d+)\/\s*(\d+)\]/.exec(text);
    if (m) options.onProgress?.({ tensor: Number(m[1]), tensors: Number(m[2]) });
    else if (text.trim()) logLines.push(text.trim());
    if (logLines.length > 20) logLines.shift();
  }, koffi.pointer(logCallbackType));
  setLog(onLog, null);
  try {
    const rc = await new Promise<number>((resolve, reject) => quantize.async(input, partial, params, (err, code) => (err ? reject(err) : resolve(code))));
    if (rc !== 0) throw new QuantizeError(failureMessage(input, rc, logLines));
    await rename(partial, output);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  } finally {
    // Back to llama.cpp's default logger; node-llama-cpp installs its own when it next initializes.
    setLog(null, null);
    koffi.unregister(onLog);
  }
  return { inputBytes: statSync(input).size, outputBytes: statSync(output).size, seconds: (Date.now() - started) / 1000 };
}

/** Quantizes once into the cache and reuses the result while it is newer than its source. */
export async function quantizeCached(input: string, type: QuantType, cacheDir: string): Promise<string> {
  const output = join(cacheDir, 'quantized', `${basename(input).replace(/\.gguf$/i, '')}.${type}.gguf`);
  if (existsSync(output) && statSync(output).mtimeMs >= statSync(input).mtimeMs) return output;
  await quantizeModel(input, output, type);
  return output;
}
