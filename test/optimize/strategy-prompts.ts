// The system instruction each strategy adds (as the reasoning room sends it), for computing what the simulator makes
// of a candidate's prompt.
import { PROMPTS } from '../../src/reasoning/prompts.js';

export const PROMPTS_FOR_TESTS: Record<string, string | undefined> = { cot: PROMPTS.cot, sc: PROMPTS.cot, plan: PROMPTS.plan, direct: undefined };
