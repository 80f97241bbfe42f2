// Door of the prompts room: managed prompt templates, their versions and rollouts, and learning from feedback.
export { withManagedPrompts, PROMPT_HEADER } from './managed-prompts.js';
export { PromptCatalog, GLOBAL_SCOPE, type AnsweredLookup, type PromptsSetup, type Resolved, type ArmsReport } from './prompt-catalog.js';
export { PromptStore, type ServedRecord, type FeedbackRecord, type ArmPoint } from './prompt-store.js';
export {
  parsePromptRef,
  renderPrompt,
  promptLabel,
  systemText,
  demoMessages,
  templateOf,
  type PromptTemplate,
  type PromptDemo,
  type PromptRef,
} from './template.js';
export { chooseArm, betaDraw, type Arm } from './bandit.js';
export { splitVersion } from './version-split.js';
export { PromptWatch, accuracyBreach, type ScoreWindow, type AccuracyBreach, type RolledBack } from './prompt-watch.js';
