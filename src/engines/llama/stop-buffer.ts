// Stop sequences across token boundaries: holds back text that could still become a stop string.
// Written here because node-llama-cpp keeps its StopGenerationDetector internal to its chat session.

export interface StopStep {
  /** Text that is safe to send to the client now. */
  emit: string;
  /** True once a stop string appeared; nothing after it is ever emitted. */
  stopped: boolean;
  /** The stop string that appeared, once one did. */
  matched?: string;
}

export class StopBuffer {
  private held = '';
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  push(text: string): StopStep {
    if (this.done) return { emit: '', stopped: true };
    const buffer = this.held + text;
    let firstStop = -1;
    let matched: string | undefined;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (firstStop < 0 || at < firstStop)) {
        firstStop = at;
        matched = stop;
      }
    }
    if (firstStop >= 0) {
      this.done = true;
      this.held = '';
      return { emit: buffer.slice(0, firstStop), stopped: true, matched };
    }
    const keep = this.partialStopSuffix(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { emit: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** Whatever is still held back, for when generation ends without a stop string. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  private partialStopSuffix(buffer: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let len = Math.min(stop.length - 1, buffer.length); len > longest; len--) {
        if (buffer.endsWith(stop.slice(0, len))) {
          longest = len;
          break;
        }
      }
    }
    return longest;
  }
}
