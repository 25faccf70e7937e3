// Spans for DSPex's own operations, INTERNAL, in the `dspex.` namespace: a module call (`dspex.module
// {ClassName}`, the parent of the LM calls its forward makes), an evaluation run, and a ReAct tool call by the
// GenAI conventions' execute_tool span. Each is built only while an SDK is registered.

import { SpanKind, trace, type Attributes, type Span } from '@opentelemetry/api';
import { ATTR, OPERATION } from './conventions.js';
import { failSpan } from './lm_span.js';
import { parentContext, tracer, tracingOn, withParent } from './instruments.js';

/** Runs `run` inside a new INTERNAL span (its parent for what run starts), ending it when run settles. */
export function inSpan<T>(name: string, attributes: Attributes, run: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  const span = tracer().startSpan(name, { kind, attributes }, parentContext());
  let result: Promise<T>;
  try {
    result = withParent(trace.setSpan(parentContext(), span), () => run(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  }
  return result.then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      failSpan(span, error);
      throw error;
    },
  );
}

/** A module whose call() the span wraps (structural, so tracing does not import the primitives). */
interface Callable {
  call(inputs: Record<string, unknown>, options?: unknown): Promise<unknown>;
}

/** The module whose call() is being re-entered from inside its own span, for the one synchronous step. */
let reentering: object | undefined;

/**
 * Module.call's hook: undefined when untraced (no SDK) or when this is the call re-entered from inside its
 * span; else the call's promise, run inside a `dspex.module {ClassName}` span.
 */
export function traceModuleCall(module: object, inputs: Record<string, unknown>, options: unknown): Promise<never> | undefined {
  if (reentering === module) {
    reentering = undefined;
    return undefined;
  }
  if (!tracingOn()) return undefined;
  const name = module.constructor.name;
  return inSpan(`dspex.module ${name}`, { 'dspex.module.class': name }, () => {
    reentering = module;
    try {
      return (module as Callable).call(inputs, options) as Promise<never>;
    } finally {
      reentering = undefined;
    }
  });
}

/** An evaluation run's span (`dspex.evaluate {ProgramClass}`), with the devset size and, at the end, the score. */
export function traceEvaluation<T extends { score: number }>(program: object, examples: number, run: () => Promise<T>): Promise<T> {
  if (!tracingOn()) return run();
  const name = program.constructor.name;
  return inSpan(`dspex.evaluate ${name}`, { 'dspex.module.class': name, 'dspex.evaluate.examples': examples }, async (span) => {
    const result = await run();
    span.setAttribute('dspex.evaluate.score', result.score);
    return result;
  });
}

/** A ReAct tool call's span by the GenAI conventions: `execute_tool {gen_ai.tool.name}`, INTERNAL. */
export function traceToolCall<T>(tool: { name: string; desc?: string | null }, run: () => Promise<T>): Promise<T> {
  if (!tracingOn()) return run();
  return inSpan(`${OPERATION.executeTool} ${tool.name}`, {
    [ATTR.operationName]: OPERATION.executeTool,
    [ATTR.toolName]: tool.name,
    [ATTR.toolType]: 'function',
    ...(tool.desc === undefined || tool.desc === null ? {} : { [ATTR.toolDescription]: tool.desc }),
  }, run);
}
