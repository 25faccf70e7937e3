// The context an LM call carries from its caller to the client process, where the call's span starts: the
// client answers from its own mailbox, so the caller's context must travel with the message.

import type { Context } from '@opentelemetry/api';
import { parentContext, tracingOn } from './instruments.js';

/** The caller's context to send with a call, or undefined when no SDK is registered (nothing to parent). */
export function parentOfCall(): Context | undefined {
  return tracingOn() ? parentContext() : undefined;
}
