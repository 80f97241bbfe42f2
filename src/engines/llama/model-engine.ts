// The library API for programs: load a model, then generate or stream text without any server.
import { complete, withChoices, type ChatMessage, type ChatModel, type ChatRequest } from '../../core/index.js';
import type { EngineSettingsInput, ModelPaths } from '../../config/index.js';
import { LlamaEngine } from './llama-engine.js';

/** The sampling fields of a ChatRequest, all optional, plus cancellation. */
export type GenerateOptions = Partial<
  Pick<ChatRequest, 'maxTokens' | 'temperature' | 'topP' | 'topK' | 'minP' | 'seed' | 'stop' | 'frequencyPenalty' | 'presencePenalty'>
> & {
  signal?: AbortSignal;
};

export class ModelEngine {
  private readonly model: ChatModel;

  private constructor(readonly engine: LlamaEngine) {
    this.model = withChoices(engine);
  }

  static async load(settings: EngineSettingsInput = {}, paths?: ModelPaths): Promise<ModelEngine> {
    return new ModelEngine(await LlamaEngine.load(settings, paths));
  }

  get name(): string {
    return this.engine.description.name;
  }

  /** Continues raw text (no chat template). */
  async generate(prompt: string, options: GenerateOptions = {}): Promise<string> {
    const result = await complete(this.model, this.request({ type: 'text', text: prompt }, options), this.context(options));
    return result.choices[0]?.text ?? '';
  }

  /** Streams the continuation of raw text, piece by piece. */
  async *stream(prompt: string, options: GenerateOptions = {}): AsyncGenerator<string> {
    for await (const chunk of this.model.stream(this.request({ type: 'text', text: prompt }, options), this.context(options))) {
      if (chunk.type === 'text-delta') yield chunk.text;
      else if (chunk.type === 'error') throw chunk.error;
    }
  }

  /** Answers a chat with the model's template. */
  async chat(messages: ChatMessage[], options: GenerateOptions = {}): Promise<string> {
    const result = await complete(this.model, this.request({ type: 'messages', messages }, options), this.context(options));
    return result.choices[0]?.text ?? '';
  }

  async dispose(): Promise<void> {
    await this.engine.dispose();
  }

  private request(input: ChatRequest['input'], { signal: _signal, ...sampling }: GenerateOptions): ChatRequest {
    return { ...sampling, model: this.name, input, stop: sampling.stop ?? [], responseFormat: { type: 'text' }, n: 1 };
  }

  private context(o: GenerateOptions) {
    return { signal: o.signal ?? new AbortController().signal, requestId: 'library' };
  }
}
