// What keeps a caller on one version of a release: the key a release is sticky by, read from the call.
import type { ReleaseConfig } from '../../config/index.js';
import type { CallContext } from '../../core/index.js';

/** The caller's sticky key for a release (undefined: each call is placed on its own). */
export function stickyKeyOf(by: ReleaseConfig['stickyBy'], ctx: CallContext, user: string | undefined): string | undefined {
  switch (by) {
    case 'session':
      return ctx.sessionKey ?? user ?? ctx.keyId;
    case 'user':
      return user;
    case 'key':
      return ctx.keyId;
    case 'none':
      return undefined;
  }
}
