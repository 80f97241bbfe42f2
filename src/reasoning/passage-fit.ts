// Fitting retrieved passages to the context a question leaves: the best ones whole while they fit, then as much of the
// next as fits, so a rag prompt never overflows the model because of what was retrieved.

export interface Passage {
  source: string;
  text: string;
}

/** A cut passage shorter than this many words is not worth its citation number. */
const MIN_CUT_WORDS = 8;
const CUT_MARK = ' …';

/**
 * The passages (best first) that fit: `room` says how many context tokens a prompt with the given passages would
 * leave unused (negative when it would not fit; undefined when the context size is unknown, and then every passage
 * is kept).
 */
export async function fitPassages<P extends Passage>(
  passages: readonly P[],
  room: (chosen: readonly P[]) => Promise<number | undefined>,
): Promise<{ passages: P[]; cut: boolean }> {
  if (passages.length === 0) return { passages: [], cut: false };
  if ((await room([])) === undefined) return { passages: [...passages], cut: false };
  const chosen: P[] = [];
  for (const passage of passages) {
    if ((await room([...chosen, passage]))! >= 0) {
      chosen.push(passage);
      continue;
    }
    // The largest word prefix of this passage that still fits, found by bisection (each probe is one token count).
    const words = passage.text.split(' ');
    const prefix = (n: number): P => ({ ...passage, text: words.slice(0, n).join(' ') + CUT_MARK });
    let fits = 0;
    let fails = words.length;
    while (fails - fits > 1) {
      const mid = (fits + fails) >> 1;
      if ((await room([...chosen, prefix(mid)]))! >= 0) fits = mid;
      else fails = mid;
    }
    if (fits >= MIN_CUT_WORDS) chosen.push(prefix(fits));
    return { passages: chosen, cut: true };
  }
  return { passages: chosen, cut: false };
}
