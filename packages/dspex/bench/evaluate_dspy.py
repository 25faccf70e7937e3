"""The DSPy side of the evaluate benchmark: real dspy.Evaluate over dspy.Predict("question -> answer") with
dspy.LM pointed at the benchmark's OpenAI-compatible server (cache off), timed inside Python for each thread
count, with the process CPU (user + system) it spent per example.
Usage: evaluate_dspy.py API_BASE N THREADS[,THREADS...] [--timeout S] [--retries R] [--offset K] [--no-warmup];
prints one JSON line."""

import argparse
import json
import logging
import time

import dspy

logging.disable(logging.WARNING)


def exact_match(example, prediction, trace=None):
    return str(example.answer) == str(prediction.answer)


def devset(n: int, offset: int = 0) -> list:
    return [dspy.Example(question=f"What is {i} + {offset + 1}?", answer=str(i + offset + 1)).with_inputs("question") for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("api_base")
    parser.add_argument("n", type=int)
    parser.add_argument("threads")
    parser.add_argument("--timeout", type=float, default=None, help="dspy.LM timeout in seconds (litellm's)")
    parser.add_argument("--retries", type=int, default=0)
    parser.add_argument("--offset", type=int, default=None, help="question offset (default: the thread count)")
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    extra = {} if args.timeout is None else {"timeout": args.timeout}
    lm = dspy.LM("openai/bench", api_base=args.api_base, api_key="sk-bench", cache=False, num_retries=args.retries, **extra)
    dspy.configure(lm=lm, adapter=dspy.ChatAdapter())
    program = dspy.Predict("question -> answer")
    if not args.no_warmup:
        # Warm-up: imports, the HTTP client and its connections, outside the timed runs.
        dspy.Evaluate(devset=devset(max(threads)), metric=exact_match, num_threads=max(threads))(program)
    out = {}
    for t in threads:
        data = devset(args.n, offset=t if args.offset is None else args.offset)
        evaluator = dspy.Evaluate(devset=data, metric=exact_match, num_threads=t, display_progress=False, max_errors=args.n)
        cpu_before = time.process_time()
        started = time.perf_counter()
        result = evaluator(program)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        out[str(t)] = {"examples": args.n, "seconds": elapsed, "ex_per_s": args.n / elapsed, "cpu_us_per_example": cpu * 1e6 / args.n, "score": result.score}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
