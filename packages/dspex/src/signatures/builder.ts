// The builder form of a signature, for what the string form cannot say: instructions, descriptions, prefixes,
// constraints and defaults per field. DSPy's class-based signature, written as a chain:
//   signatureBuilder('Answer with a number.').input('question').output('answer', { type: 'int', desc: '...' }).build()

import { InputField, OutputField, type FieldDefinition, type FieldOptions } from './field.js';
import type { TypeRegistry } from './registry.js';
import { Signature } from './signature.js';
import type { TypeExpr } from './types.js';
import type { FieldTypeOf, Fields, WithField } from './infer.js';

type NoFields = Record<never, never>;
/** Field options without a type: the field is a str. */
type UntypedOptions = Omit<FieldOptions, 'type'> & { type?: undefined };

/**
 * I and O collect the fields added so far, typed from their annotation text: build() gives a Signature<I, O> that
 * Predict and the other modules read. A type given as a TypeExpr is `unknown` at compile time.
 */
export class SignatureBuilder<I extends Fields = NoFields, O extends Fields = NoFields> {
  private readonly fields: [string, FieldDefinition][] = [];
  private text: string | undefined;

  constructor(
    instructions?: string,
    private readonly registry?: TypeRegistry,
  ) {
    this.text = instructions;
  }

  instructions(text: string): this {
    this.text = text;
    return this;
  }

  /** Adds an input; `options` may be just a type ("list[str]" or a TypeExpr). */
  input<N extends string, T extends string>(name: N, options: T | (FieldOptions & { type: T })): SignatureBuilder<WithField<I, N, FieldTypeOf<T, 'input'>, 'input'>, O>;
  input<N extends string>(name: N, options?: UntypedOptions): SignatureBuilder<WithField<I, N, string, 'input'>, O>;
  input<N extends string>(name: N, options: FieldOptions | TypeExpr): SignatureBuilder<WithField<I, N, unknown, 'input'>, O>;
  input(name: string, options: FieldOptions | string | TypeExpr = {}): SignatureBuilder<Fields, Fields> {
    this.fields.push([name, InputField(normalize(options))]);
    return this as SignatureBuilder<Fields, Fields>;
  }

  output<N extends string, T extends string>(name: N, options: T | (FieldOptions & { type: T })): SignatureBuilder<I, WithField<O, N, FieldTypeOf<T, 'output'>, 'output'>>;
  output<N extends string>(name: N, options?: UntypedOptions): SignatureBuilder<I, WithField<O, N, string, 'output'>>;
  output<N extends string>(name: N, options: FieldOptions | TypeExpr): SignatureBuilder<I, WithField<O, N, unknown, 'output'>>;
  output(name: string, options: FieldOptions | string | TypeExpr = {}): SignatureBuilder<Fields, Fields> {
    this.fields.push([name, OutputField(normalize(options))]);
    return this as SignatureBuilder<Fields, Fields>;
  }

  /** The signature; SignatureError for a bad name, type or a repeated field. */
  build(): Signature<I, O> {
    return Signature.fromFields(this.fields, {
      ...(this.text === undefined ? {} : { instructions: this.text }),
      ...(this.registry === undefined ? {} : { registry: this.registry }),
    }) as Signature<I, O>;
  }
}

function normalize(options: FieldOptions | string | TypeExpr): FieldOptions {
  if (typeof options === 'string') return { type: options };
  if ('kind' in options) return { type: options };
  return options;
}

/** Builds a typed Signature field by field: `signatureBuilder('Answer briefly.').input('question').output('answer', { desc: 'one word' }).build()`. */
export function signatureBuilder(instructions?: string, registry?: TypeRegistry): SignatureBuilder<NoFields, NoFields> {
  return new SignatureBuilder(instructions, registry);
}
