// The context an LM call carries from its caller to the client process, where the call's span starts: the
// client answers from its own mailbox, so the caller's context must travel with the message.

import type { Context } from '@opentelemetry/api';
import { instrumented, parentContext } from './instruments.js';

/**
 * The caller's context to send with a call, or undefined when no SDK is registered (nothing to parent and no
 * metric to record). A meter provider alone also gets a context: its presence is what makes the call measured.
 */
export function parentOfCall(): Context | undefined {
  return instrumented() ? parentContext() : undefined;
}
