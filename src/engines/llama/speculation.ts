// Speculative decoding for the embedded engine: each sequence gets a token predictor (prompt lookup, or a draft
// model's sequence), whose guesses llama.cpp checks in one batch; only the guesses the model would have written itself
// are kept, so at temperature 0 the output is the model's own: guesses change how many tokens a step evaluates.
import { DraftSequenceTokenPredictor, InputLookupTokenPredictor, type LlamaContext, type LlamaModel, type TokenPredictor } from 'node-llama-cpp';
import { ModelUnavailableError } from '../../core/index.js';
import type { EngineSettings, ModelPaths } from '../../config/index.js';
import { GatedPredictor } from './gated-predictor.js';
import { resolveModel } from './model-file.js';
import type { LoadedModelFile } from './model-file-load.js';

/** What speculation needs beside the model: the draft model and its context, freed with the engine. */
export class Speculation {
  private constructor(
    private readonly settings: EngineSettings['speculative'],
    private readonly draft?: { model: LlamaModel; contexts: LlamaContext[]; path: string },
  ) {}

  /** Loads the draft model (mode draft) and refuses one whose vocabulary differs from the model's. */
  static async load(loaded: LoadedModelFile, paths: ModelPaths): Promise<Speculation> {
    const { settings, llama, model, path } = loaded;
    const spec = settings.speculative;
    if (spec.mode !== 'draft') return new Speculation(spec);
    const draftPath = (await resolveModel(spec.draftModel!, paths)).path;
    let draftModel: LlamaModel;
    try {
      draftModel = await llama.loadModel({ modelPath: draftPath, gpuLayers: settings.gpuLayers, useMmap: settings.mmap && llama.supportsMmap });
    } catch (err) {
      throw new ModelUnavailableError(`cannot load draft model ${draftPath}: ${(err as Error).message.split('\n')[0]}`);
    }
    const differs = vocabularyDifference(model, draftModel);
    if (differs) {
      await draftModel.dispose();
      throw new ModelUnavailableError(
        `draft model ${draftPath} does not share the vocabulary of ${path} (${differs}): use a draft model of the same family, or --speculative lookup`,
      );
    }
    // A draft context per sequence: with several draft sequences in one context, node-llama-cpp 3.21.1 stalls as soon
    // as two sequences generate at once (no promise left to settle), while a context of its own each works.
    const contexts: LlamaContext[] = [];
    try {
      for (let i = 0; i < settings.parallel; i++) {
        contexts.push(await draftModel.createContext({ sequences: 1, contextSize: settings.contextSize, threads: settings.threads }));
      }
      return new Speculation(spec, { model: draftModel, contexts, path: draftPath });
    } catch (err) {
      for (const c of contexts) await c.dispose();
      await draftModel.dispose();
      throw new ModelUnavailableError(`cannot make a context for draft model ${draftPath}: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  get mode(): EngineSettings['speculative']['mode'] {
    return this.settings.mode;
  }

  get draftPath(): string | undefined {
    return this.draft?.path;
  }

  /** A new predictor for one sequence (predictors hold per-sequence state and are never shared). */
  predictor(): TokenPredictor | undefined {
    const max = this.settings.draftTokens;
    // Patterns of 2 tokens at least: a single token matches almost anywhere in a prompt (refuted guesses on
    // stories260K fell from 510 to 409 in 128 tokens with it).
    if (this.settings.mode === 'lookup')
      return new GatedPredictor(new InputLookupTokenPredictor({ patternLength: { min: 2 }, predictionLength: { min: 1, max } }), max);
    const context = this.draft?.contexts.find((c) => c.sequencesLeft > 0);
    if (context) return new DraftSequenceTokenPredictor(context.getSequence(), { maxTokens: max });
    return undefined;
  }

  async dispose(): Promise<void> {
    for (const c of this.draft?.contexts ?? []) await c.dispose();
    await this.draft?.model.dispose();
  }
}

/** Why two models' tokens are not the same tokens, or undefined when they are. */
export function vocabularyDifference(a: LlamaModel, b: LlamaModel): string | undefined {
  if (a.vocabularyType !== b.vocabularyType) return `${a.vocabularyType} vs ${b.vocabularyType} tokenizers`;
  const ta = tokenList(a);
  const tb = tokenList(b);
  if (ta && tb) {
    if (ta.length !== tb.length) return `${ta.length} vs ${tb.length} tokens`;
    const at = ta.findIndex((t, i) => t !== tb[i]);
    if (at >= 0) return `token ${at} is ${JSON.stringify(ta[at])} vs ${JSON.stringify(tb[at])}`;
  }
  if (a.tokens.bos !== b.tokens.bos || a.tokens.eos !== b.tokens.eos) return 'different start and end tokens';
  return undefined;
}

function tokenList(model: LlamaModel): readonly string[] | undefined {
  const tokens = (model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: unknown } } }).tokenizer?.ggml?.tokens;
  return Array.isArray(tokens) ? (tokens as string[]) : undefined;
}
