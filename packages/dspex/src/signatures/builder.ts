// The builder form of a signature, for what the string form cannot say: instructions, descriptions, prefixes,
// constraints and defaults per field. DSPy's class-based signature, written as a chain:
//   signatureBuilder('Answer with a number.').input('question').output('answer', { type: 'int', desc: '...' }).build()

import { InputField, OutputField, type FieldDefinition, type FieldOptions } from './field.js';
import type { TypeRegistry } from './registry.js';
import { Signature } from './signature.js';
import type { TypeExpr } from './types.js';

export class SignatureBuilder {
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
  input(name: string, options: FieldOptions | string | TypeExpr = {}): this {
    this.fields.push([name, InputField(normalize(options))]);
    return this;
  }

  output(name: string, options: FieldOptions | string | TypeExpr = {}): this {
    this.fields.push([name, OutputField(normalize(options))]);
    return this;
  }

  /** The signature; SignatureError for a bad name, type or a repeated field. */
  build(): Signature {
    return Signature.fromFields(this.fields, {
      ...(this.text === undefined ? {} : { instructions: this.text }),
      ...(this.registry === undefined ? {} : { registry: this.registry }),
    });
  }
}

function normalize(options: FieldOptions | string | TypeExpr): FieldOptions {
  if (typeof options === 'string') return { type: options };
  if ('kind' in options) return { type: options };
  return options;
}

export function signatureBuilder(instructions?: string, registry?: TypeRegistry): SignatureBuilder {
  return new SignatureBuilder(instructions, registry);
}
