// DSPy's Tool (dspy/adapters/types/tool.py): a function the model may call, with a name, a description and a
// JSON Schema per argument. ReAct lists tools in its instructions through toString(), byte-for-byte as DSPy
// does, and calls them through call(), which validates the arguments first as DSPy's Tool does.

import type { ToolDefinition } from '../primitives/lm.js';
import { pyRepr } from '../utils/py_json.js';
import { ToolArgumentError } from '../primitives/errors.js';
import { schemaViolation, type JsonSchemaObject } from './json_schema_check.js';

/** A tool's arguments by name. */
export type ToolArgs = Record<string, unknown>;
/**
 * The function behind a tool. Declared as a method type so that a Tool of specific arguments (`Tool<{ city:
 * string }>`) is still a Tool a ReAct agent can hold: arguments are validated against the schema at run time.
 */
export type ToolFunction<A extends ToolArgs = ToolArgs, R = unknown> = { run(args: A): R | Promise<R> }['run'];

/** Options of `new Tool(fn, options)`: name, description, argument schemas. */
export interface ToolOptions {
  /** Defaults to the function's name. */
  name?: string;
  /** DSPy's `desc`: what the tool does, shown to the model. */
  desc?: string;
  /** JSON Schema of each argument by name (DSPy's `args`), e.g. { city: { type: 'string' } }. Defaults to {}. */
  args?: Record<string, JsonSchemaObject>;
  /** Descriptions per argument, added to its schema as `description` (DSPy's `arg_desc`). */
  argDesc?: Record<string, string>;
  /** Accept arguments not in `args` (a Python function with **kwargs). */
  hasKwargs?: boolean;
  /** Arguments the call must carry; defaults to those whose schema has no `default` (Python's rule). */
  required?: readonly string[];
}

/** A whole-object JSON Schema (OpenAI's `parameters`), as MCP servers and Node tool registries describe tools. */
export interface ToolFromSchemaOptions {
  name: string;
  description?: string;
  parameters: JsonSchemaObject;
}

/** DSPy's Tool: a function the LM may call in ReAct, with a name, description and JSON-schema arguments (checked before the call). Generics: `Tool<Args, Result>`. */
export class Tool<A extends ToolArgs = ToolArgs, R = unknown> {
  readonly func: ToolFunction<A, R>;
  readonly name: string;
  readonly desc: string | null;
  readonly args: Record<string, JsonSchemaObject>;
  readonly hasKwargs: boolean;
  readonly required: readonly string[];

  constructor(func: ToolFunction<A, R>, options: ToolOptions = {}) {
    this.func = func;
    this.name = options.name ?? func.name;
    this.desc = options.desc ?? null;
    const args: Record<string, JsonSchemaObject> = {};
    for (const [name, schema] of Object.entries(options.args ?? {})) {
      const description = options.argDesc?.[name];
      args[name] = description === undefined ? { ...schema } : { ...schema, description };
    }
    this.args = args;
    this.hasKwargs = options.hasKwargs ?? false;
    this.required = options.required ?? Object.keys(args).filter((key) => !('default' in args[key]!));
  }

  /**
   * A tool from a whole-object schema: each property becomes an argument (DSPy's
   * convert_input_schema_to_tool_args); `$ref`s into `$defs` are inlined.
   */
  static fromJsonSchema<A extends ToolArgs, R>(func: ToolFunction<A, R>, options: ToolFromSchemaOptions): Tool<A, R> {
    const defs = (options.parameters['$defs'] ?? {}) as Record<string, unknown>;
    const properties = (options.parameters['properties'] ?? {}) as Record<string, JsonSchemaObject>;
    const args: Record<string, JsonSchemaObject> = {};
    for (const [name, schema] of Object.entries(properties)) args[name] = resolveRefs(schema, defs) as JsonSchemaObject;
    return new Tool(func, {
      name: options.name,
      ...(options.description === undefined ? {} : { desc: options.description }),
      args,
      hasKwargs: options.parameters['additionalProperties'] === true,
      required: Array.isArray(options.parameters['required']) ? (options.parameters['required'] as unknown[]).filter((k): k is string => typeof k === 'string') : [],
    });
  }

  /** Validates `args` against the schemas, then runs the function (sync or async). DSPy's Tool.acall. */
  async call(args: ToolArgs = {}): Promise<R> {
    this.validate(args);
    return await this.func(args as A);
  }

  /** Throws ToolArgumentError with DSPy's wording when an argument is unknown or does not fit its schema. */
  validate(args: ToolArgs): void {
    for (const [key, value] of Object.entries(args)) {
      const schema = this.args[key];
      if (!schema) {
        if (this.hasKwargs) continue;
        throw new ToolArgumentError(this.name, `Arg ${key} is not in the tool's args.`);
      }
      // DSPy skips validation for untyped arguments (no "type" in the schema).
      if (schema['type'] === undefined || schema['type'] === 'Any') continue;
      const problem = schemaViolation(value, schema);
      if (problem) throw new ToolArgumentError(this.name, `Arg ${key} is invalid: ${problem}`);
    }
    const missing = this.required.filter((key) => !(key in args));
    // Python raises TypeError for a missing parameter without a default; the function never runs.
    if (missing.length > 0) {
      const names = missing.map((key) => `'${key}'`).join(', ');
      throw new ToolArgumentError(this.name, `${this.name}() missing ${missing.length} required argument${missing.length > 1 ? 's' : ''}: ${names}`);
    }
  }

  /** The tool as a provider function declaration (DSPy's format_as_litellm_function_call). */
  toDefinition(): ToolDefinition {
    return {
      name: this.name,
      description: this.desc ?? '',
      parameters: {
        type: 'object',
        properties: this.args,
        required: [...this.required],
      },
    };
  }

  /** DSPy's str(tool), which ReAct puts in its instructions: "name, whose description is <desc>..</desc>. It takes arguments {...}." */
  toString(): string {
    const desc = this.desc ? `, whose description is <desc>${this.desc}</desc>.`.replaceAll('\n', '  ') : '.';
    return `${this.name}${desc} It takes arguments ${pyRepr(this.args)}.`;
  }
}

function resolveRefs(node: unknown, defs: Record<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((item) => resolveRefs(item, defs));
  if (node === null || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  const ref = record['$ref'];
  if (typeof ref === 'string') return resolveRefs(defs[ref.slice(ref.lastIndexOf('/') + 1)], defs);
  return Object.fromEntries(Object.entries(record).filter(([key]) => key !== '$defs').map(([key, value]) => [key, resolveRefs(value, defs)]));
}
