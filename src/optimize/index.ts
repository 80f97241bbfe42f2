// Door of the optimize room: the prompt search behind `autoglm optimize`, its candidates and their templates.
export { optimize, SEARCH_METHODS, type SearchMethod, type OptimizeOptions, type OptimizeResult, type Trial } from './optimizer.js';
export { scoreItems, itemRequest, type Score, type ItemOutcome } from './item-scorer.js';
export {
  BASELINE,
  ANSWER_FORMAT,
  DEMO_CHOICES,
  STRATEGY_CHOICES,
  SEED_INSTRUCTIONS,
  candidateTemplate,
  callsPerItem,
  candidateKey,
  type Candidate,
} from './candidate.js';
export { metaPrompt, parseProposal, type ScoredInstruction } from './meta-prompt.js';
export { promptYaml } from './prompt-yaml.js';
