// The instructions each strategy adds to a conversation. The simulator's solver mode recognises them too.

const FINAL_LINE = "End with a line of the form 'The answer is X.'";

export const PROMPTS = {
  cot: `Think step by step, showing your reasoning. ${FINAL_LINE}`,
  plan: `First devise a plan that breaks the problem into smaller steps, then carry out the plan, checking each intermediate result. ${FINAL_LINE}`,
  revise: `Review your answer above for mistakes in reasoning or arithmetic. If it is right, restate it; if not, correct it. ${FINAL_LINE}`,
  rag: 'Answer the question using the numbered passages below. Cite the passages you use like [1]. If they do not contain the answer, say so, then answer from what you know.',
} as const;
