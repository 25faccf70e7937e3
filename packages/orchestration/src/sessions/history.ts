// A session's turns as DSPy's `dspy.History` input: `{ messages: [{ ...inputs, ...outputs }, ...] }`, one message
// per earlier turn, oldest first, each with the signature's keys (DSPy's History docstring). The adapters turn
// each message into a user/assistant pair (Adapter.format_conversation_history).

import { Module } from 'dspex';
import type { JsonValue } from '@dspex/store';

/** A plain JSON object: what a turn's inputs and outputs, settings and bound values are. */
export type JsonObject = { [key: string]: JsonValue };

/** One turn of a session: the inputs the program got (without the history) and the outputs it gave. */
export interface SessionTurnRecord {
  inputs: JsonObject;
  outputs: JsonObject;
}

/** DSPy's `dspy.History` value: the messages of earlier turns, oldest first. */
export interface History {
  messages: JsonObject[];
}

/** The type names a history input field is declared with (`history: dspy.History`). */
const HISTORY_TYPE_NAMES: ReadonlySet<string> = new Set(['dspy.History', 'History']);

/** The History value for these turns. */
export function historyOf(turns: readonly SessionTurnRecord[]): History {
  return { messages: turns.map((turn) => ({ ...turn.inputs, ...turn.outputs })) };
}

/**
 * The name of the program's history input: the first input field typed `dspy.History` in any of its predictors'
 * signatures (DSPy's _get_history_field_name), or undefined when the program takes none.
 */
export function historyFieldOf(program: Module): string | undefined {
  for (const predictor of program.predictors()) {
    for (const field of predictor.signature.inputFields) {
      if (field.type.kind === 'custom' && HISTORY_TYPE_NAMES.has(field.type.name)) return field.name;
    }
  }
  return undefined;
}
