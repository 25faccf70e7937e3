// DSPy's Prediction (a module's output: an Example without the input split, holding every completion of the
// call) and Completions (the n answers of one call, column-wise). The first completion's fields are the
// prediction's own fields.

import { CompletionsShapeError, MissingFieldError } from './errors.js';
import { ExampleRecord, type Fields, type KnownKey, type ReturningSelf } from './example.js';
import type { LMUsageByModel } from '../usage/tracker.js';
import { usageCost, type LMCost } from '../usage/prices.js';

/** What a prediction was built against: anything with named output fields (a Signature). */
export type SignatureLike = object;

/** The runtime class of Prediction; the `Prediction<O>` type below gives its field view. */
export class PredictionRecord extends ExampleRecord {
  static {
    Object.defineProperty(this, 'name', { value: 'Prediction' });
  }

  _completions: Completions | null = null;
  _lmUsage: LMUsageByModel | null = null;

  constructor(base?: Fields | ExampleRecord | null, fields?: Fields) {
    super(base, fields);
    // A Prediction has no input/label split (DSPy deletes _input_keys).
    this._inputKeys = null;
  }

  /** One prediction from a list of completion records or a record of columns; its fields are the first one's. */
  static fromCompletions(listOrColumns: Fields[] | Record<string, unknown[]>, signature?: SignatureLike | null): Prediction {
    const prediction = new Prediction();
    const completions = new Completions(listOrColumns, signature ?? null);
    prediction._completions = completions;
    prediction._store = Object.fromEntries(completions.items().map(([key, column]) => [key, column[0]]));
    return prediction;
  }

  /** All completions of the call (null for a Prediction built by hand). */
  get completions(): Completions | null {
    return this._completions;
  }

  /**
   * The tokens of every LM call the top-level module call made, summed per model name (DSPy's get_lm_usage());
   * null unless configure({ trackUsage: true }) was on for the call, and on predictions of nested calls.
   */
  get lmUsage(): LMUsageByModel | null {
    return this._lmUsage;
  }

  /** DSPy's set_lm_usage. */
  setLmUsage(usage: LMUsageByModel | null): void {
    this._lmUsage = usage;
  }

  /** What lmUsage cost in USD by the price table (usage/prices.ts); null when lmUsage is. */
  get lmCost(): LMCost | null {
    return this._lmUsage === null ? null : usageCost(this._lmUsage);
  }

  /** DSPy's float(prediction): the `score` field as a number. */
  toNumber(): number {
    if (!this.has('score')) throw new MissingFieldError('score', 'Prediction');
    return Number(this._store['score']);
  }

  override valueOf(): number {
    return this.toNumber();
  }

  override toString(): string {
    const body = Object.entries(this._store).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',\n    ');
    const count = this._completions?.length ?? 1;
    if (count <= 1) return `Prediction(\n    ${body}\n)`;
    return `Prediction(\n    ${body},\n    completions=Completions(...)\n) (${count - 1} completions omitted)`;
  }
}

/** All completions of a Prediction when n > 1, by field (`completions.get('answer')`) or by index. */
export class Completions {
  private readonly columns: Record<string, unknown[]>;
  readonly signature: SignatureLike | null;

  constructor(listOrColumns: Fields[] | Record<string, unknown[]>, signature: SignatureLike | null = null) {
    this.signature = signature;
    let columns: Record<string, unknown[]>;
    if (Array.isArray(listOrColumns)) {
      columns = {};
      for (const record of listOrColumns) {
        for (const [key, value] of Object.entries(record)) (columns[key] ??= []).push(value);
      }
    } else {
      columns = { ...listOrColumns };
    }
    const lists = Object.entries(columns);
    for (const [key, column] of lists) if (!Array.isArray(column)) throw new CompletionsShapeError(`'${key}' is not a list`);
    const length = lists[0]?.[1].length ?? 0;
    for (const [key, column] of lists) {
      if (column.length !== length) throw new CompletionsShapeError(`'${key}' has ${column.length} values, the first field ${length}`);
    }
    this.columns = columns;
  }

  /** Number of completions. */
  get length(): number {
    return Object.values(this.columns)[0]?.length ?? 0;
  }

  items(): Array<[string, unknown[]]> {
    return Object.entries(this.columns);
  }

  keys(): string[] {
    return Object.keys(this.columns);
  }

  has(field: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.columns, field);
  }

  /** Every completion's value of `field` (DSPy's completions.answer / completions["answer"]). */
  field(name: string): unknown[] {
    const column = this.columns[name];
    if (!column) throw new MissingFieldError(name, 'Completions');
    return column;
  }

  /** The i-th completion as a Prediction (DSPy's completions[i]). */
  at(index: number): Prediction {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new RangeError(`Completion index ${index} is out of range 0..${this.length - 1}`);
    return new Prediction(Object.fromEntries(this.items().map(([key, column]) => [key, column[index]])));
  }

  /** Each completion as a Prediction, in order. */
  toList(): Prediction[] {
    return Array.from({ length: this.length }, (_, i) => this.at(i));
  }

  [Symbol.iterator](): Iterator<Prediction> {
    return this.toList()[Symbol.iterator]();
  }
}

type SelfReturning = 'set' | 'withInputs' | 'inputs' | 'labels' | 'copy' | 'without' | 'create';

/** A Prediction whose output fields are O: reading a field O does not name is a compile error. */
export type TypedPrediction<O extends Fields> = {
  [K in keyof PredictionRecord as KnownKey<K>]: K extends SelfReturning ? ReturningSelf<PredictionRecord[K], TypedPrediction<O>> : PredictionRecord[K];
} & O;

/**
 * DSPy's Prediction. `Prediction` (no argument) reads any field as `unknown`; `Prediction<O>` is what a typed
 * program gives: `new Predict('question -> answer: int').call(...)` resolves to `Prediction<{ answer: number }>`.
 */
export type Prediction<O extends Fields = Fields> = Fields extends O ? PredictionRecord : TypedPrediction<O>;

/** DSPy's Prediction (see the `Prediction<O>` type). */
export const Prediction: typeof PredictionRecord = PredictionRecord;
