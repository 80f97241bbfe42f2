// One request, many calls below it: each call gets an abort signal of its own, all fed by one listener on the
// request's signal, so sixteen choices or samples put one listener on it (Node warns past ten) and few on each child.

export class AbortFanOut {
  private readonly children = new Set<AbortController>();
  private readonly onAbort = () => {
    for (const child of this.children) child.abort(this.parent.reason);
  };

  constructor(private readonly parent: AbortSignal) {
    parent.addEventListener('abort', this.onAbort, { once: true });
  }

  /** A signal for one call, aborted with the request's reason (at once if the request is already aborted). */
  child(): AbortController {
    const controller = new AbortController();
    if (this.parent.aborted) controller.abort(this.parent.reason);
    this.children.add(controller);
    return controller;
  }

  /** Forgets a call that is over, so a later abort does not reach it. */
  release(child: AbortController): void {
    this.children.delete(child);
  }

  /** Aborts every call still running (the caller is done with them), without aborting the request. */
  abortAll(reason?: unknown): void {
    for (const child of this.children) child.abort(reason);
    this.children.clear();
  }

  /** Stops listening on the request's signal: the calls are over. */
  close(): void {
    this.parent.removeEventListener('abort', this.onAbort);
  }
}
