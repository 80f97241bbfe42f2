// Known OpenAI-compatible servers: where they listen by default and which extensions they accept.
import type { UPSTREAM_PRESET_CHOICES } from '../../config/index.js';

export interface UpstreamPreset {
  baseUrl: string;
  /** Accepts llama.cpp/vLLM sampling extensions (top_k, min_p, ignore_eos). */
  samplingExtensions: boolean;
  /** Environment variable holding the API key, when the service needs one. */
  apiKeyEnv?: string;
}

export const UPSTREAM_PRESETS = {
  vllm: { baseUrl: 'http://127.0.0.1:8000/v1', samplingExtensions: true },
  sglang: { baseUrl: 'http://127.0.0.1:30000/v1', samplingExtensions: true },
  'llamacpp-server': { baseUrl: 'http://127.0.0.1:8080/v1', samplingExtensions: true },
  ollama: { baseUrl: 'http://127.0.0.1:11434/v1', samplingExtensions: false },
  zhipu: { baseUrl: 'https://open.bigmodel.cn/api/paas/v4', samplingExtensions: false, apiKeyEnv: 'ZHIPU_API_KEY' },
  openai: { baseUrl: 'https://api.openai.com/v1', samplingExtensions: false, apiKeyEnv: 'OPENAI_API_KEY' },
  autoglm: { baseUrl: 'http://127.0.0.1:8080/v1', samplingExtensions: true },
} satisfies Record<(typeof UPSTREAM_PRESET_CHOICES)[number], UpstreamPreset>;

export type UpstreamPresetName = keyof typeof UPSTREAM_PRESETS;

/** The variable that holds a replica's API key: the replica's own apiKeyEnv, else its preset's (zhipu, openai). */
export function apiKeyEnvOf(replica: { preset?: UpstreamPresetName; apiKeyEnv?: string }): string | undefined {
  const preset: UpstreamPreset = UPSTREAM_PRESETS[replica.preset ?? 'vllm'];
  return replica.apiKeyEnv ?? preset.apiKeyEnv;
}
export const UPSTREAM_PRESET_NAMES = Object.keys(UPSTREAM_PRESETS) as [UpstreamPresetName, ...UpstreamPresetName[]];
