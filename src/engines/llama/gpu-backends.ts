// Which llama.cpp backends this machine can run, and starting llama.cpp on the one asked for.
import { getLlama, getLlamaGpuTypes, LlamaLogLevel, NoBinaryFoundError, type Llama, type LlamaGpuType } from 'node-llama-cpp';
import type { GpuChoice } from '../../config/index.js';
import { ModelUnavailableError } from '../../core/index.js';

export interface GpuBackends {
  /** Backends whose drivers this machine has, by the names --gpu takes ('cpu' for none). */
  usable: string[];
  /** Backends node-llama-cpp offers a prebuilt binary of on this platform. */
  prebuilt: string[];
}

const backendName = (gpu: LlamaGpuType): string => (gpu === false ? 'cpu' : gpu);

export async function gpuBackends(): Promise<GpuBackends> {
  const [usable, prebuilt] = await Promise.all([getLlamaGpuTypes('supported'), getLlamaGpuTypes('allValid')]);
  return { usable: usable.map(backendName), prebuilt: prebuilt.map(backendName) };
}

/**
 * One llama.cpp per backend per process, shared by every engine on it: each instance holds its own native backend
 * and a process beforeExit listener until disposed, so an instance per replica would pile up over reloads.
 */
const shared = new Map<GpuChoice, Promise<Llama>>();

/** llama.cpp on the chosen backend; a backend this machine cannot run is one line naming those it can. */
export function loadLlama(gpu: GpuChoice): Promise<Llama> {
  let llama = shared.get(gpu);
  if (!llama) {
    llama = startLlama(gpu);
    shared.set(gpu, llama);
    // A failed start is tried again by the next load, not remembered.
    llama.catch(() => shared.delete(gpu));
  }
  return llama;
}

async function startLlama(gpu: GpuChoice): Promise<Llama> {
  let llama: Llama;
  try {
    llama = await getLlama({ gpu: gpu === 'off' ? false : gpu, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
  } catch (err) {
    if (!(err instanceof NoBinaryFoundError)) throw err;
    throw await unusable(gpu);
  }
  // A backend this platform has no build of at all (metal off a Mac) comes back as the CPU: asked for by name, it is
  // refused rather than served slower than the user expects.
  if (gpu !== 'auto' && gpu !== 'off' && llama.gpu !== gpu) {
    await llama.dispose();
    throw await unusable(gpu);
  }
  return llama;
}

async function unusable(gpu: GpuChoice): Promise<ModelUnavailableError> {
  const { usable } = await gpuBackends();
  const choices = usable.map((b) => (b === 'cpu' ? 'off' : b));
  return new ModelUnavailableError(
    `GPU backend '${gpu}' is not usable on this machine (usable here: ${usable.join(', ')}); choose --gpu ${[...choices, 'auto'].join(' | ')}`,
  );
}
