// The SignatureEngine's worker-thread module: piscina calls the default export once per task. Signatures arrive
// as JSON and are rebuilt (and compiled) once per thread; validation and rendering then run as on the main thread.

import type { LMMessage } from '../primitives/lm.js';
import { ChatAdapter } from '../adapters/chat_adapter.js';
import { JSONAdapter } from '../adapters/json_adapter.js';
import { compileSignature, type ValidationResult } from '../signatures/compiler.js';
import type { EngineTask } from './engine.js';
import { Signature, type SignatureJSON } from '../signatures/signature.js';

const signatures = new Map<string, Signature>();
const adapters = { chat: new ChatAdapter(), json: new JSONAdapter() };

function signatureOf(json: string): Signature {
  let signature = signatures.get(json);
  if (signature === undefined) {
    if (signatures.size > 256) signatures.clear();
    signatures.set(json, (signature = Signature.fromJSON(JSON.parse(json) as SignatureJSON)));
  }
  return signature;
}

function merge(a: ValidationResult, b: ValidationResult): ValidationResult {
  if (a.ok && b.ok) return { ok: true, value: { ...a.value, ...b.value } };
  const issues = [...(a.ok ? [] : a.issues), ...(b.ok ? [] : b.issues)];
  return { ok: false, issues, message: [a.ok ? '' : a.message, b.ok ? '' : b.message].filter(Boolean).join('\n') };
}

/** One task: ValidationResult[] for 'validate'; for 'render', the LMMessage[][] as JSON text (strings only). */
export default function handle(task: EngineTask): ValidationResult[] | string {
  const signature = signatureOf(task.signature);
  if (task.op === 'render') {
    const adapter = adapters[task.adapter];
    const rendered: LMMessage[][] = task.requests.map((request) => adapter.format(signature, task.demoSets[request.demos] ?? [], request.inputs));
    return JSON.stringify(rendered);
  }
  const compiled = compileSignature(signature);
  return task.examples.map((example) => {
    if (task.scope === 'inputs') return compiled.validateInputs(example);
    if (task.scope === 'outputs') return compiled.validateOutputs(example);
    return merge(compiled.validateInputs(example), compiled.validateOutputs(example));
  });
}
