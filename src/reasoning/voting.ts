// Voting over sampled answers, and when to stop sampling: pure functions over the answers seen so far.

export interface Tally {
  leader?: string;
  votes: number;
  runnerUp: number;
  /** Answers that could be extracted. */
  counted: number;
  /** Leader's share of the counted answers. */
  confidence: number;
  counts: Map<string, number>;
}

/** Majority vote; a tie goes to the answer seen first. Unextractable answers (undefined) count for nobody. */
export function tally(answers: readonly (string | undefined)[]): Tally {
  const counts = new Map<string, number>();
  for (const a of answers) if (a !== undefined) counts.set(a, (counts.get(a) ?? 0) + 1);
  let leader: string | undefined;
  let votes = 0;
  let runnerUp = 0;
  for (const [answer, n] of counts) {
    if (n > votes) {
      runnerUp = votes;
      leader = answer;
      votes = n;
    } else if (n > runnerUp) runnerUp = n;
  }
  const counted = [...counts.values()].reduce((a, b) => a + b, 0);
  return { leader, votes, runnerUp, counted, confidence: counted ? votes / counted : 0, counts };
}

export interface StopRule {
  /** Most samples to draw. */
  max: number;
  /** Stop once the leader has this many votes and every other answer at most one (a repeat nobody else has). */
  agreement: number;
}

/**
 * Whether more samples can change or are needed for the answer:
 * - the leader cannot be overtaken by the samples still allowed (Adaptive-Consistency's exact bound); or
 * - the leader has `agreement` votes while no other answer repeats. With a model's mistakes scattered over many
 *   wrong values, a repeated answer is rarely a wrong one (Early-Stopping Self-Consistency's agreeing window, applied
 *   to the samples so far rather than to fixed windows).
 */
export function canStop(t: Tally, taken: number, rule: StopRule): boolean {
  if (taken >= rule.max) return true;
  if (t.leader === undefined) return false;
  if (t.votes > t.runnerUp + (rule.max - taken)) return true;
  return t.votes >= rule.agreement && t.runnerUp <= 1 && t.votes > t.runnerUp;
}
