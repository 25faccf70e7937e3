// DSPy's ChainOfThought (dspy/predict/chain_of_thought.py): the signature with a `reasoning` output prepended
// (prefix "Reasoning:", desc "${reasoning}" as in DSPy 3.4), run by an inner Predict named `predict`, so that
// saved state is keyed "predict" exactly as DSPy keys it.

import type { LMConfig } from '../clients/base_lm.js';
import { OutputField, type FieldDefinition } from '../signatures/field.js';
import { ensureSignature, type Signature } from '../signatures/signature.js';
import { t, type TypeExpr } from '../signatures/types.js';
import { Module, type Inputs } from '../primitives/module.js';
import type { Prediction } from '../primitives/prediction.js';
import { Predict, type PredictCallOptions } from './predict.js';

export interface ChainOfThoughtOptions {
  /** A custom reasoning field (DSPy's rationale_field); its `type` wins over rationaleFieldType. */
  rationaleField?: FieldDefinition;
  /** The reasoning field's type (DSPy's rationale_field_type); str by default. */
  rationaleFieldType?: TypeExpr | string;
  /** Default LM settings for the inner Predict (DSPy's **config). */
  config?: LMConfig;
}

export class ChainOfThought extends Module {
  predict: Predict;

  constructor(signature: Signature | string, options: ChainOfThoughtOptions = {}) {
    super();
    const base = ensureSignature(signature);
    const field = options.rationaleField ?? OutputField({ desc: '${reasoning}' });
    const type = options.rationaleField?.type ?? options.rationaleFieldType ?? t.str;
    this.predict = new Predict(base.prepend('reasoning', field, type), options.config ?? {});
  }

  override forward(inputs: Inputs, options?: PredictCallOptions): Promise<Prediction> {
    return this.predict.call(inputs, options);
  }
}
