// TypeScript types from signature strings: a type-level reading of the grammar in parser.ts, so that
// `new Predict('question: str -> answer: int')` takes `{ question: string }` and gives `{ answer: number }`.
// Types only (nothing here runs). Any text this reader cannot follow gives the loose `Fields` types instead of a
// compile error: the runtime parser stays the judge of what a signature may say.

import type { History } from './history.js';

/** Any record of named fields: the loose type of inputs and outputs whose signature is not known at compile time. */
export type Fields = Record<string, unknown>;

/**
 * TypeScript types of custom signature types, by the name a signature writes (`person: Person`). Augment it
 * next to registerType() so such fields are typed; a name it does not list reads as `unknown`:
 *
 *   declare module 'dspex' { interface CustomTypes { Person: { name: string; age: number } } }
 */
export interface CustomTypes {}

/** Where a type is read: inputs take what the adapter formats (a Map for a dict), outputs are what parsing gives back. */
type Side = 'input' | 'output';

/** A part of the text the reader could not follow: it turns the whole signature loose. */
declare const unreadable: unique symbol;
interface Unreadable {
  readonly [unreadable]: true;
}

type Space = ' ' | '\n' | '\t' | '\r';
type TrimStart<S extends string> = S extends `${Space}${infer R}` ? TrimStart<R> : S;
type TrimEnd<S extends string> = S extends `${infer R}${Space}` ? TrimEnd<R> : S;
type Trim<S extends string> = TrimEnd<TrimStart<S>>;

/** How many times C occurs in S (as a tuple length, tail-recursive). */
type Count<S extends string, C extends string, N extends 0[] = []> = S extends `${string}${C}${infer R}` ? Count<R, C, [...N, 0]> : N['length'];
type Balanced<S extends string> = Count<S, '['> extends Count<S, ']'> ? (Count<S, '('> extends Count<S, ')'> ? true : false) : false;

/** S split at the separators outside brackets: "a: int, b: dict[str, int]" -> ["a: int", "b: dict[str, int]"]. */
type SplitTop<S extends string, Sep extends string, Held extends string = '', Out extends string[] = []> = S extends `${infer Head}${Sep}${infer Tail}`
  ? Balanced<`${Held}${Head}`> extends true
    ? SplitTop<Tail, Sep, '', [...Out, Trim<`${Held}${Head}`>]>
    : SplitTop<Tail, Sep, `${Held}${Head}${Sep}`, Out>
  : [...Out, Trim<`${Held}${S}`>];

/** Python's trailing comma in a subscript (`tuple[int, ...,]`) leaves an empty last part. */
type DropEmptyLast<P extends string[]> = P extends [...infer Init extends string[], ''] ? Init : P;
type Arguments<S extends string> = DropEmptyLast<SplitTop<S, ','>>;

type AnyUnreadable<T extends unknown[]> = true extends { [K in keyof T]: [T[K]] extends [Unreadable] ? true : false }[number] ? true : false;

type Bare = {
  str: string; int: number; float: number; bool: boolean; Any: unknown; None: null; NoneType: null;
  list: unknown[]; List: unknown[]; tuple: unknown[]; Tuple: unknown[];
};
type ListNames = 'list' | 'List';
type SetNames = 'set' | 'Set' | 'frozenset' | 'FrozenSet';
type DictNames = 'dict' | 'Dict';
type TupleNames = 'tuple' | 'Tuple';

/** The TypeScript type of one annotation; Unreadable when the reader cannot follow it. */
export type TypeOf<T extends string, S extends Side = 'output'> = ReadUnion<SplitTop<Trim<T>, '|'>, S>;

type ReadUnion<Parts extends string[], S extends Side> = Parts extends [infer Only extends string]
  ? ReadPrimary<Only, S>
  : ReadAll<Parts, S> extends infer Members extends unknown[]
    ? AnyUnreadable<Members> extends true ? Unreadable : Members[number]
    : Unreadable;

type ReadAll<Parts extends string[], S extends Side, Out extends unknown[] = []> = Parts extends [infer P extends string, ...infer Rest extends string[]]
  ? ReadAll<Rest, S, [...Out, TypeOf<P, S>]>
  : Out;

type ReadPrimary<T extends string, S extends Side> = T extends `${infer Name}[${infer Inner}]`
  ? Subscript<Trim<Name>, Inner, S>
  : T extends keyof Bare
    ? Bare[T]
    : T extends DictNames
      ? S extends 'input' ? Record<string, unknown> | Map<unknown, unknown> : Record<string, unknown>
      : T extends SetNames
        ? S extends 'input' ? unknown[] | Set<unknown> : unknown[]
        : Custom<T>;

/** DSPy's History (`dspy.History`, or `History` unless CustomTypes declares its own): `{ messages: [...] }`. */
type HistoryNames = 'dspy.History' | 'History';

/** A registered custom type: its declared TypeScript type, else unknown; text that is no name is Unreadable. */
type Custom<T extends string> = T extends keyof CustomTypes ? CustomTypes[T] : T extends HistoryNames ? History : T extends '' | `${string}${Space | '[' | ']' | ',' | "'" | '"' | '(' | ')'}${string}` ? Unreadable : unknown;

type One<Args extends string[], S extends Side> = Args extends [infer A extends string] ? TypeOf<A, S> : Unreadable;

type Subscript<Name extends string, Inner extends string, S extends Side> = Name extends ListNames
  ? Wrap<One<Arguments<Inner>, S>, 'list', S>
  : Name extends SetNames
    ? Wrap<One<Arguments<Inner>, S>, 'set', S>
    : Name extends 'Optional'
      ? Wrap<One<Arguments<Inner>, S>, 'optional', S>
      : Name extends 'Union'
        ? ReadUnion<Arguments<Inner>, S>
        : Name extends DictNames
          ? DictOf<Arguments<Inner>, S>
          : Name extends TupleNames
            ? TupleOf<Arguments<Inner>, S>
            : Name extends 'Literal'
              ? LiteralOf<Arguments<Inner>>
              : Unreadable;

type Wrap<T, How extends 'list' | 'set' | 'optional', S extends Side> = [T] extends [Unreadable]
  ? Unreadable
  : How extends 'list' ? T[] : How extends 'set' ? (S extends 'input' ? T[] | Set<T> : T[]) : T | null;

type DictOf<Args extends string[], S extends Side> = Args extends [infer K extends string, infer V extends string]
  ? [TypeOf<K, S>, TypeOf<V, S>] extends [infer KT, infer VT]
    ? [KT] extends [Unreadable] ? Unreadable : [VT] extends [Unreadable] ? Unreadable
      : S extends 'input' ? Record<string, VT> | Map<KT, VT> : Record<string, VT>
    : Unreadable
  : Unreadable;

type TupleOf<Args extends string[], S extends Side> = Args extends ['()']
  ? []
  : Args extends [infer A extends string, '...']
    ? Wrap<TypeOf<A, S>, 'list', S>
    : ReadAll<Args, S> extends infer Items extends unknown[]
      ? AnyUnreadable<Items> extends true ? Unreadable : Items
      : Unreadable;

type LiteralOf<Args extends string[], Out extends unknown[] = []> = Args extends [infer V extends string, ...infer Rest extends string[]]
  ? LiteralOf<Rest, [...Out, LiteralValue<V>]>
  : AnyUnreadable<Out> extends true ? Unreadable : Out[number];

type LiteralValue<V extends string> = V extends `'${infer Text}'`
  ? Plain<Text, "'">
  : V extends `"${infer Text}"`
    ? Plain<Text, '"'>
    : V extends 'True' ? true : V extends 'False' ? false : V extends 'None' ? null
      : V extends `${infer N extends number}` ? N : Unreadable;

/**
 * A quoted literal without escapes is its own text; with a backslash, only the runtime knows: string. Its own
 * quote inside means the arguments were split wrongly (a bracket or comma in a string): Unreadable.
 */
type Plain<Text extends string, Quote extends string> = Text extends `${string}${Quote}${string}` ? Unreadable : Text extends `${string}\\${string}` ? string : Text;

/** One field: "name: type" or a bare "name" (str). */
type FieldOf<F extends string, S extends Side> = F extends `${infer Name}:${infer Type}`
  ? [FieldName<Trim<Name>>, Trim<Type> extends 'None' ? string : TypeOf<Type, S>]
  : [FieldName<F>, string];
type FieldName<N extends string> = N extends '' | `${string}${Space | '[' | ']' | ',' | "'" | '"' | '(' | ')' | '|' | '.' | '='}${string}` ? Unreadable : N;

type FieldList<Text extends string, S extends Side> = Trim<Text> extends '' ? [] : FieldsOf<SplitTop<Trim<Text>, ','>, S>;
type FieldsOf<Parts extends string[], S extends Side, Out extends [unknown, unknown][] = []> = Parts extends [infer F extends string, ...infer Rest extends string[]]
  ? FieldsOf<Rest, S, [...Out, FieldOf<F, S>]>
  : Out;

type Flatten<T> = { [K in keyof T]: T[K] } & {};

type TakesNone<T> = unknown extends T ? false : null extends T ? true : false;

/** Fields whose type takes None may be left out of the inputs (the runtime does not ask for them). */
type Record_<L extends [unknown, unknown][], S extends Side> = S extends 'input'
  ? Flatten<{ [E in L[number] as TakesNone<E[1]> extends true ? never : E[0] & string]: E[1] } & { [E in L[number] as TakesNone<E[1]> extends true ? E[0] & string : never]?: E[1] }>
  : Flatten<{ [E in L[number] as E[0] & string]: E[1] }>;

type SideOf<Text extends string, S extends Side> = FieldList<Text, S> extends infer L extends [unknown, unknown][]
  ? true extends { [K in keyof L]: [L[K][0]] extends [Unreadable] ? true : [L[K][1]] extends [Unreadable] ? true : false }[number]
    ? Unreadable
    : Record_<L, S>
  : Unreadable;

/**
 * `{ inputs, outputs }` of a signature string literal; `{ inputs: Fields; outputs: Fields }` for a `string`, or for
 * any text this reader cannot follow (the runtime parser decides whether it is valid).
 */
export type ParseSignature<T extends string> = string extends T
  ? Loose
  : T extends `${infer In}->${infer Out}`
    ? Out extends `${string}->${string}`
      ? Loose
      : [SideOf<In, 'input'>, SideOf<Out, 'output'>] extends [infer I, infer O]
        ? [I] extends [Unreadable] ? Loose : [O] extends [Unreadable] ? Loose : { inputs: I; outputs: O }
        : Loose
    : Loose;

type Loose = { inputs: Fields; outputs: Fields };

/** The inputs a signature string takes: `InputsOf<'question: str -> answer'>` is `{ question: string }`. */
export type InputsOf<T extends string> = ParseSignature<T>['inputs'] extends infer I extends Fields ? I : Fields;
/** The outputs a signature string gives: `OutputsOf<'question -> answer: int'>` is `{ answer: number }`. */
export type OutputsOf<T extends string> = ParseSignature<T>['outputs'] extends infer O extends Fields ? O : Fields;

/** What a module is built from: a signature string or a Signature (typed by the builder or Signature.parse). */
export type SignatureSource = string | { readonly fieldTypes?: { readonly inputs: Fields; readonly outputs: Fields } };

/** The input fields of a signature string or Signature. */
export type SignatureInputs<S> = S extends string ? InputsOf<S> : S extends { readonly fieldTypes?: { readonly inputs: infer I extends Fields } } ? I : Fields;
/** The output fields of a signature string or Signature. */
export type SignatureOutputs<S> = S extends string ? OutputsOf<S> : S extends { readonly fieldTypes?: { readonly outputs: infer O extends Fields } } ? O : Fields;

/** One field's type from its annotation text, as the builder reads it; `unknown` where this reader cannot follow it. */
export type FieldTypeOf<T extends string, S extends Side> = Trim<T> extends 'None' ? string : TypeOf<T, S> extends infer V ? ([V] extends [Unreadable] ? unknown : V) : unknown;

/** F with one more field: optional on the input side when its type takes None (the runtime does not ask for it). */
export type WithField<F extends Fields, N extends string, V, S extends Side> = Flatten<
  F & (S extends 'input' ? (TakesNone<V> extends true ? { [K in N]?: V } : { [K in N]: V }) : { [K in N]: V })
>;
