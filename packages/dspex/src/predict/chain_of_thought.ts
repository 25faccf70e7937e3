// DSPy's ChainOfThought (dspy/predict/chain_of_thought.py): the signature with a `reasoning` output prepended
// (prefix "Reasoning:", desc "${reasoning}" as in DSPy 3.4), run by an inner Predict named `predict`, so that
// saved state is keyed "predict" exactly as DSPy keys it.

import type { LMConfig } from '../primitives/lm.js';
import { OutputField, type FieldDefinition } from '../signatures/field.js';
import { ensureSignature, type Signature } from '../signatures/signature.js';
import { t, type TypeExpr } from '../signatures/types.js';
import { Module, type Inputs } from '../program/module.js';
import type { Prediction } from '../primitives/prediction.js';
import { Predict, type PredictCallOptions } from './predict.js';
import type { Fields, SignatureInputs, SignatureOutputs, SignatureSource } from '../signatures/infer.js';

/** A typed signature's outputs with ChainOfThought's `reasoning` first; loose outputs stay loose. */
export type WithReasoning<O extends Fields> = Fields extends O ? Fields : { [K in 'reasoning' | keyof O]: K extends keyof O ? O[K] : string };

/** Options of ChainOfThought: a custom reasoning field or its type (DSPy's rationale_field, rationale_field_type), and default LM config. */
export interface ChainOfThoughtOptions {
  /** A custom reasoning field (DSPy's rationale_field); its `type` wins over rationaleFieldType. */
  rationaleField?: FieldDefinition;
  /** The reasoning field's type (DSPy's rationale_field_type); str by default. */
  rationaleFieldType?: TypeExpr | string;
  /** Default LM settings for the inner Predict (DSPy's **config). */
  config?: LMConfig;
}

/** `S` is the signature as in Predict; the prediction also holds `reasoning: string`. */
export class ChainOfThought<S extends SignatureSource = SignatureSource> extends Module<SignatureInputs<S>, WithReasoning<SignatureOutputs<S>>> {
  /** Its forward passes its options on and runs no user code: usage is tracked without a settings scope (program/track_usage.ts). */
  static override readonly passesCallOptions = true;

  predict: Predict;

  constructor(signature: S, options: ChainOfThoughtOptions = {}) {
    super();
    const base = ensureSignature(signature as Signature | string);
    const field = options.rationaleField ?? OutputField({ desc: '${reasoning}' });
    const type = options.rationaleField?.type ?? options.rationaleFieldType ?? t.str;
    this.predict = new Predict(base.prepend('reasoning', field, type), options.config ?? {});
  }

  override forward(inputs: SignatureInputs<S>, options?: PredictCallOptions): Promise<Prediction<WithReasoning<SignatureOutputs<S>>>> {
    return this.predict.call(inputs as Inputs, options) as Promise<Prediction<WithReasoning<SignatureOutputs<S>>>>;
  }
}
