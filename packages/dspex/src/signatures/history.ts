// DSPy's `dspy.History`: the conversation-history input type. A signature names it `dspy.History` (or `History`,
// as after `from dspy import History`); its value is `{ messages: [...] }`, one record per earlier turn keyed by
// the signature's field names. The adapters render such a field as conversation turns (adapters/history.ts).

import type { JsonSchema } from './registry.js';
import { t, type TypeExpr } from './types.js';

/** The name a History field's type carries (TypeExpr `custom`), whichever spelling the signature used. */
export const HISTORY_TYPE_NAME = 'dspy.History';

/** The bare spelling; it means dspy.History unless a custom type of that name is registered. */
export const HISTORY_SHORT_NAME = 'History';

/** The type of a `history: dspy.History` field. */
export const HISTORY_TYPE: TypeExpr = t.custom(HISTORY_TYPE_NAME);

/**
 * A History value, as DSPy's History(messages=[...]) holds it: the earlier turns, oldest first, each a record of
 * the signature's inputs and outputs for that turn (keys the signature does not have are ignored).
 */
export interface History {
  messages: Record<string, unknown>[];
}

/** pydantic's dspy.History.model_json_schema() in DSPy 3.4.1 (extra="forbid"), docstring included. */
export const HISTORY_SCHEMA: JsonSchema = Object.freeze({
  additionalProperties: false,
  description: "Class representing the conversation history.\n\nThe conversation history is a list of messages, each message entity should have keys from the associated signature.\nFor example, if you have the following signature:\n\n```\nclass MySignature(dspy.Signature):\n    question: str = dspy.InputField()\n    history: dspy.History = dspy.InputField()\n    answer: str = dspy.OutputField()\n```\n\nThen the history should be a list of dictionaries with keys \"question\" and \"answer\".\n\nExamples:\n    ```\n    import dspy\n\n    dspy.configure(lm=dspy.LM(\"openai/gpt-4o-mini\"))\n\n    class MySignature(dspy.Signature):\n        question: str = dspy.InputField()\n        history: dspy.History = dspy.InputField()\n        answer: str = dspy.OutputField()\n\n    history = dspy.History(\n        messages=[\n            {\"question\": \"What is the capital of France?\", \"answer\": \"Paris\"},\n            {\"question\": \"What is the capital of Germany?\", \"answer\": \"Berlin\"},\n        ]\n    )\n\n    predict = dspy.Predict(MySignature)\n    outputs = predict(question=\"What is the capital of France?\", history=history)\n    ```\n\nExample of capturing the conversation history:\n    ```\n    import dspy\n\n    dspy.configure(lm=dspy.LM(\"openai/gpt-4o-mini\"))\n\n    class MySignature(dspy.Signature):\n        question: str = dspy.InputField()\n        history: dspy.History = dspy.InputField()\n        answer: str = dspy.OutputField()\n\n    predict = dspy.Predict(MySignature)\n    outputs = predict(question=\"What is the capital of France?\")\n    history = dspy.History(messages=[{\"question\": \"What is the capital of France?\", **outputs}])\n    outputs_with_history = predict(question=\"Are you sure?\", history=history)\n    ```",
  properties: { messages: { items: { additionalProperties: true, type: 'object' }, title: 'Messages', type: 'array' } },
  required: ['messages'],
  title: 'History',
  type: 'object',
});

/** Whether a field of this type is DSPy's history field (DSPy compares `field.annotation == History`: not Optional[History]). */
export function isHistoryType(type: TypeExpr): boolean {
  return type.kind === 'custom' && type.name === HISTORY_TYPE_NAME;
}
