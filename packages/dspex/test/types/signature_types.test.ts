// Types inferred from signature strings and the builder: every annotation the parser accepts maps to a TypeScript
// type, typed programs carry them through Predict/ChainOfThought/ReAct, Prediction, Example, evaluate and the
// optimizers, and misspelled/missing inputs or unknown outputs are compile errors. Checked by `tsc` (npm test).

import { describe, expectTypeOf, it } from 'vitest';
import {
  BootstrapFewShot, ChainOfThought, Evaluate, Example, LabeledFewShot, Predict, Prediction, ReAct, Signature, evaluate, signatureBuilder, t,
  type Fields, type InputsOf, type Metric, type OutputsOf, type Program, type TelepromptMetric, type TraceEntry, type TypeOf,
} from '../../src/index.js';

interface ImageValue { url: string }
declare module '../../src/index.js' {
  interface CustomTypes {
    Image: ImageValue;
  }
}

describe('annotations map to TypeScript types', () => {
  it('maps scalars, containers, Optional/unions, Literal, Any and custom types', () => {
    expectTypeOf<TypeOf<'str'>>().toEqualTypeOf<string>();
    expectTypeOf<TypeOf<'int'>>().toEqualTypeOf<number>();
    expectTypeOf<TypeOf<'float'>>().toEqualTypeOf<number>();
    expectTypeOf<TypeOf<'bool'>>().toEqualTypeOf<boolean>();
    expectTypeOf<TypeOf<'Any'>>().toEqualTypeOf<unknown>();
    expectTypeOf<TypeOf<'list[str]'>>().toEqualTypeOf<string[]>();
    expectTypeOf<TypeOf<'List[int]'>>().toEqualTypeOf<number[]>();
    expectTypeOf<TypeOf<'list'>>().toEqualTypeOf<unknown[]>();
    expectTypeOf<TypeOf<'set[int]'>>().toEqualTypeOf<number[]>();
    expectTypeOf<TypeOf<'set[int]', 'input'>>().toEqualTypeOf<number[] | Set<number>>();
    expectTypeOf<TypeOf<'dict[str, int]'>>().toEqualTypeOf<Record<string, number>>();
    expectTypeOf<TypeOf<'Dict[str, list[float]]', 'input'>>().toEqualTypeOf<Record<string, number[]> | Map<string, number[]>>();
    expectTypeOf<TypeOf<'dict'>>().toEqualTypeOf<Record<string, unknown>>();
    expectTypeOf<TypeOf<'tuple[int, str]'>>().toEqualTypeOf<[number, string]>();
    expectTypeOf<TypeOf<'tuple[int, ...]'>>().toEqualTypeOf<number[]>();
    expectTypeOf<TypeOf<'tuple[()]'>>().toEqualTypeOf<[]>();
    expectTypeOf<TypeOf<'Optional[int]'>>().toEqualTypeOf<number | null>();
    expectTypeOf<TypeOf<'int | None'>>().toEqualTypeOf<number | null>();
    expectTypeOf<TypeOf<'Union[int, str, None]'>>().toEqualTypeOf<number | string | null>();
    expectTypeOf<TypeOf<"Literal['yes', 'no']">>().toEqualTypeOf<'yes' | 'no'>();
    expectTypeOf<TypeOf<'Literal["a", 1, -2.5, True, None]'>>().toEqualTypeOf<'a' | 1 | -2.5 | true | null>();
    expectTypeOf<TypeOf<'dict[str, Optional[list[tuple[int, Literal["x"]]]]]'>>().toEqualTypeOf<Record<string, [number, 'x'][] | null>>();
    expectTypeOf<TypeOf<'Image'>>().toEqualTypeOf<ImageValue>();
    // dspy.History is built in: no CustomTypes entry needed.
    expectTypeOf<TypeOf<'list[dspy.History]'>>().toEqualTypeOf<{ messages: Fields[] }[]>();
    // Registered at run time but not declared in CustomTypes: unknown, not an error.
    expectTypeOf<TypeOf<'Person'>>().toEqualTypeOf<unknown>();
  });

  it('reads both sides of a signature; Optional inputs may be left out; unicode names', () => {
    type S = 'question: str, context: list[str], hint: Optional[str], résumé -> answer: str, confidence: float, note: str | None';
    expectTypeOf<InputsOf<S>>().toEqualTypeOf<{ question: string; context: string[]; résumé: string; hint?: string | null | undefined }>();
    expectTypeOf<OutputsOf<S>>().toEqualTypeOf<{ answer: string; confidence: number; note: string | null }>();
    expectTypeOf<InputsOf<'a: None -> b'>>().toEqualTypeOf<{ a: string }>();
  });

  it('types a dspy.History input (either spelling) as { messages }', () => {
    expectTypeOf<InputsOf<'question: str, history: dspy.History -> answer: str'>>().toEqualTypeOf<{ question: string; history: { messages: Record<string, unknown>[] } }>();
    expectTypeOf<InputsOf<'history: History, question -> answer'>>().toEqualTypeOf<{ history: { messages: Record<string, unknown>[] }; question: string }>();
    expectTypeOf<InputsOf<'history: Optional[dspy.History] -> answer'>>().toEqualTypeOf<{ history?: { messages: Record<string, unknown>[] } | null | undefined }>();
    const program = new Predict('question: str, history: dspy.History -> answer: str');
    expectTypeOf(program.forward).parameter(0).toEqualTypeOf<{ question: string; history: { messages: Record<string, unknown>[] } }>();
  });

  it('falls back to loose records for strings known only at run time and text it cannot follow', () => {
    expectTypeOf<InputsOf<string>>().toEqualTypeOf<Fields>();
    expectTypeOf<OutputsOf<'a -> b -> c'>>().toEqualTypeOf<Fields>();
    expectTypeOf<OutputsOf<'a: list[int -> b'>>().toEqualTypeOf<Fields>();
    expectTypeOf<InputsOf<"a: Literal['[', 'b'] -> c">>().toEqualTypeOf<Fields>();
    expectTypeOf<OutputsOf<'no arrow here'>>().toEqualTypeOf<Fields>();
    const runtimeText: string = ['q', 'a'].join(' -> ');
    expectTypeOf(new Predict(runtimeText).call).returns.resolves.toEqualTypeOf<Prediction>();
  });

  it('reads a long, nested signature within the compiler limits', () => {
    type LongInputs = 'f1: str, f2: int, f3: float, f4: bool, f5: list[str], f6: dict[str, int], f7: tuple[int, str], f8: Optional[int], f9: Literal["a", "b"], f10: list[list[list[list[int]]]]';
    type Long = `${LongInputs} -> o1: str, o2: int, o3: float, o4: bool, o5: list[str], o6: dict[str, list[dict[str, Optional[tuple[int, ...]]]]], o7: tuple[int, str], o8: int | None, o9: Literal[1, 2], o10: Any`;
    expectTypeOf<InputsOf<Long>['f10']>().toEqualTypeOf<number[][][][]>();
    expectTypeOf<OutputsOf<Long>['o6']>().toEqualTypeOf<Record<string, Record<string, number[] | null>[]>>();
    expectTypeOf<keyof OutputsOf<Long>>().toEqualTypeOf<'o1' | 'o2' | 'o3' | 'o4' | 'o5' | 'o6' | 'o7' | 'o8' | 'o9' | 'o10'>();
  });
});

describe('typed programs', () => {
  it('Predict takes the inputs and resolves to the outputs; errors for misspelled, missing and unknown fields', async () => {
    const qa = new Predict('question: str, context: list[str] -> answer: str, confidence: float');
    expectTypeOf(qa.forward).parameter(0).toEqualTypeOf<{ question: string; context: string[] }>();
    const run = async () => {
      const prediction = await qa.call({ question: 'q', context: ['c'] });
      expectTypeOf(prediction.answer).toEqualTypeOf<string>();
      expectTypeOf(prediction.confidence).toEqualTypeOf<number>();
      expectTypeOf(prediction).toEqualTypeOf<Prediction<{ answer: string; confidence: number }>>();
      // @ts-expect-error: no output field "answr"
      void prediction.answr;
      // @ts-expect-error: misspelled input "questoin"
      await qa.call({ questoin: 'q', context: [] });
      // @ts-expect-error: missing input "context"
      await qa.call({ question: 'q' });
      // @ts-expect-error: wrong type for "context"
      await qa.call({ question: 'q', context: 'c' });
      // A loose record (a program passing on its own inputs) is checked at run time.
      const inputs: Fields = { question: 'q', context: [] };
      await qa.call(inputs);
    };
    expectTypeOf(run).toBeFunction();
  });

  it('ChainOfThought adds reasoning; ReAct adds the trajectory', () => {
    const cot = new ChainOfThought('question -> answer: int');
    expectTypeOf(cot.call).returns.resolves.toEqualTypeOf<Prediction<{ reasoning: string; answer: number }>>();
    const agent = new ReAct('question -> answer', []);
    expectTypeOf(agent.forward).parameter(0).toEqualTypeOf<{ question: string }>();
    expectTypeOf(agent.call).returns.resolves.toEqualTypeOf<Prediction<{ trajectory: Record<string, unknown>; answer: string }>>();
  });

  it('Signature.parse and the builder type the signature', () => {
    const parsed = Signature.parse('q: int -> a: bool');
    expectTypeOf(new Predict(parsed).call).returns.resolves.toEqualTypeOf<Prediction<{ a: boolean }>>();
    const built = signatureBuilder('Answer.')
      .input('question')
      .input('k', { type: 'int', desc: 'how many' })
      .input('filter', 'Optional[str]')
      .input('raw', t.list(t.str))
      .output('answer', "Literal['yes', 'no']")
      .build();
    const program = new Predict(built);
    expectTypeOf(program.forward).parameter(0).toEqualTypeOf<{ question: string; k: number; filter?: string | null | undefined; raw: unknown }>();
    expectTypeOf(program.call).returns.resolves.toEqualTypeOf<Prediction<{ answer: 'yes' | 'no' }>>();
  });

  it('Example, evaluate and optimizers carry the types; loose code keeps compiling', () => {
    type I = { question: string };
    type O = { answer: string };
    const program = new Predict('question -> answer');
    const devset = [new Example<I, O>({ question: 'q', answer: 'a' }).withInputs('question')];
    expectTypeOf(devset[0]!.question).toEqualTypeOf<string>();
    // @ts-expect-error: no field "questoin"
    void devset[0]!.questoin;
    const scored = () =>
      evaluate(program, devset, (example, prediction) => {
        expectTypeOf(example).toEqualTypeOf<Example<I, O>>();
        expectTypeOf(prediction.answer).toEqualTypeOf<string>();
        return example.answer === prediction.answer;
      });
    expectTypeOf(scored).returns.toBeObject();
    const compiled = () => new BootstrapFewShot().compile(program, { trainset: devset });
    expectTypeOf(compiled).returns.resolves.toEqualTypeOf<Predict<'question -> answer'>>();
    // Untyped examples and predictions read any field as unknown, as before.
    const loose = new Example({ question: 'q' });
    expectTypeOf(loose.anything).toEqualTypeOf<unknown>();
    expectTypeOf(new Prediction({ a: 1 }).a).toEqualTypeOf<unknown>();
  });

  it('Evaluate and the optimizers take a metric typed for the program; one reading a field it lacks does not compile', () => {
    type I = { question: string };
    type O = { answer: string };
    const program = new Predict('question -> answer');
    const trainset = [new Example<I, O>({ question: 'q', answer: 'a' }).withInputs('question')];
    const typedMetric = (example: Example<I, O>, prediction: Prediction<O>): boolean => example.answer === prediction.answer;
    const misspelled = (example: Example, prediction: Prediction<{ answr: string }>): boolean => example.get('answer') === prediction.answr;

    // Evaluate: the types come from the metric and the devset, or are given; call() takes programs with those outputs.
    const evaluator = new Evaluate({ devset: trainset, metric: typedMetric });
    expectTypeOf(evaluator).toEqualTypeOf<Evaluate<O, Example<I, O>>>();
    expectTypeOf(evaluator.devset).toEqualTypeOf<readonly Example<I, O>[]>();
    expectTypeOf(evaluator.metric).toEqualTypeOf<Metric<Example<I, O>, Prediction<O>> | undefined>();
    const evaluated = () => evaluator.call(program);
    expectTypeOf(evaluated).returns.resolves.toHaveProperty('score');
    // @ts-expect-error: the program has no output field "answr"
    void (() => new Evaluate({ devset: trainset, metric: misspelled }).call(program));
    // @ts-expect-error: a ChainOfThought of another signature lacks "answer"
    void (() => evaluator.call(new ChainOfThought('question -> reply')));
    new Evaluate<O, Example<I, O>>({
      devset: trainset,
      metric: (example, prediction) => {
        expectTypeOf(example.question).toEqualTypeOf<string>();
        expectTypeOf(prediction.answer).toEqualTypeOf<string>();
        // @ts-expect-error: no output field "answr"
        return prediction.answr === example.answer;
      },
    });

    // BootstrapFewShot: the metric fixes O and E; compile takes programs with the outputs O and resolves to the program's type.
    const optimizer = new BootstrapFewShot({ metric: typedMetric, maxBootstrappedDemos: 2 });
    expectTypeOf(optimizer).toEqualTypeOf<BootstrapFewShot<O, Example<I, O>>>();
    const compiled = () => optimizer.compile(program, { trainset });
    expectTypeOf(compiled).returns.resolves.toEqualTypeOf<Predict<'question -> answer'>>();
    // A program with more outputs (ChainOfThought's reasoning) has the ones the metric reads.
    const withReasoning = () => optimizer.compile(new ChainOfThought('question -> answer'), { trainset });
    expectTypeOf(withReasoning).returns.resolves.toEqualTypeOf<ChainOfThought<'question -> answer'>>();
    // @ts-expect-error: the program has no output field "answr"
    void (() => new BootstrapFewShot({ metric: misspelled }).compile(program, { trainset }));
    // @ts-expect-error: the output "answer" is a number here, a string for the metric
    void (() => optimizer.compile(new Predict('question -> answer: int'), { trainset }));
    // @ts-expect-error: the metric reads typed examples; a loose trainset does not have them
    void (() => optimizer.compile(program, { trainset: [new Example({ question: 'q', answer: 'a' })] }));
    new BootstrapFewShot<O, Example<I, O>>({
      metric: (example, prediction, trace) => {
        expectTypeOf(prediction.answer).toEqualTypeOf<string>();
        expectTypeOf(trace).toEqualTypeOf<readonly TraceEntry[] | null | undefined>();
        // @ts-expect-error: no output field "answr"
        return prediction.answr === example.answer;
      },
    });
    expectTypeOf<TelepromptMetric<Example<I, O>, Prediction<O>>>().parameter(1).toEqualTypeOf<Prediction<O>>();

    // LabeledFewShot resolves to the student's own type, from typed or loose trainsets.
    const labeled = () => new LabeledFewShot({ k: 1 }).compile(program, { trainset });
    expectTypeOf(labeled).returns.resolves.toEqualTypeOf<Predict<'question -> answer'>>();
  });

  it('loose programs, metrics and examples keep compiling with loose types', () => {
    const signature: string = ['question', 'answer'].join(' -> ');
    const looseProgram = new Predict(signature);
    const typedProgram = new Predict('question -> answer');
    const devset = [new Example({ question: 'q', answer: 'a' }).withInputs('question')];
    const metric = (example: Example, prediction: Prediction): boolean => example.get('answer') === prediction.get('answer');
    const evaluator = new Evaluate({ devset, metric });
    void (() => [evaluator.call(looseProgram), evaluator.call(typedProgram), evaluate(looseProgram, devset, metric)]);
    // A typed program held as the Program interface is a loose program too.
    const asProgram: Program<{ answer: string }> = typedProgram;
    void (() => [evaluator.call(asProgram), evaluator.call(new ChainOfThought('question -> reply'))]);
    expectTypeOf(new Evaluate({ devset })).toEqualTypeOf<Evaluate<Fields, Example>>();
    const optimizer = new BootstrapFewShot({ metric: (example, prediction) => {
      expectTypeOf(prediction).toEqualTypeOf<Prediction>();
      return example.get('answer') === prediction.get('answer');
    } });
    expectTypeOf(optimizer).toEqualTypeOf<BootstrapFewShot<Fields, Example>>();
    const compiled = () => optimizer.compile(looseProgram, { trainset: devset });
    expectTypeOf(compiled).returns.resolves.toEqualTypeOf<Predict<string>>();
    void (() => optimizer.compile(typedProgram, { trainset: devset }));
    void (() => new LabeledFewShot().compile(looseProgram, { trainset: devset }));
  });
});
