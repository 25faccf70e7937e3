// DSPy's parse_value: turns an LM's text for one output field into a typed value. str stays raw text; Literal
// tolerates quotes and "Literal[...]" wrappers; other types go through JSON repair, then Python's
// literal_eval, then pydantic-style validation. Throws ValueParseError with pydantic's message shape.

import { repairJson } from '../utils/json_repair.js';
import { literalEval } from '../utils/py_literal.js';
import { pyStr } from '../utils/py_json.js';
import { pyStrip } from '../utils/py_text.js';
import { ValueParseError, type ValidationIssue } from './errors.js';
import { annotationName, type TypeExpr } from './types.js';
import { INVALID, type IssueSink, type Validator } from './validators.js';

/** Runs `validator` laxly; on failure throws ValueParseError naming the type like pydantic does. */
export function validateOrThrow(value: unknown, validator: Validator, type: TypeExpr): unknown {
  const fast = validator(value, false, null);
  if (fast !== INVALID) return fast;
  const sink: IssueSink = { issues: [], path: [] };
  validator(value, false, sink);
  throw new ValueParseError(validationMessage(annotationName(type), sink.issues), sink.issues);
}

/** pydantic's ValidationError text: "N validation error(s) for T", then each location and message. */
export function validationMessage(title: string, issues: readonly ValidationIssue[]): string {
  const count = Math.max(issues.length, 1);
  const lines = [`${count} validation error${count === 1 ? '' : 's'} for ${title}`];
  for (const issue of issues) {
    if (issue.path.length > 0) lines.push(issue.path.join('.'));
    lines.push(`  ${issue.message}`);
  }
  return lines.join('\n');
}

function unwrapLiteralText(text: string): string {
  let v = pyStrip(text);
  if ((v.startsWith('Literal[') || v.startsWith('str[')) && v.endsWith(']')) v = v.slice(v.indexOf('[') + 1, -1);
  if (v.length > 1 && v[0] === v[v.length - 1] && (v[0] === '"' || v[0] === "'")) v = v.slice(1, -1);
  return v;
}

function isOptionalStr(type: TypeExpr): boolean {
  return type.kind === 'union' && type.members.some((m) => m.kind === 'none') && type.members.some((m) => m.kind === 'str');
}

/** DSPy's parse_value(value, annotation) for a compiled field validator. */
export function parseValue(value: unknown, type: TypeExpr, validator: Validator): unknown {
  if (type.kind === 'str') return pyStr(value);
  let current = value;
  if (type.kind === 'literal') {
    if (type.values.includes(current as never)) return current;
    if (typeof current === 'string') {
      const unwrapped = unwrapLiteralText(current);
      const match = type.values.find((allowed) => allowed === unwrapped);
      if (match !== undefined) return match;
      // String forms of non-string members ("2" for Literal[1, 2, 3]) are coerced below.
      current = unwrapped;
    }
  }
  if (typeof current !== 'string') return validateOrThrow(current, validator, type);
  if (isOptionalStr(type)) return validateOrThrow(current, validator, type);
  let candidate = repairJson(current);
  if (candidate === '' && current !== '') {
    try {
      candidate = literalEval(current);
    } catch {
      candidate = current;
    }
  }
  return validateOrThrow(candidate, validator, type);
}
