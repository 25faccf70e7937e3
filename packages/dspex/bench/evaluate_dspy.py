"""The DSPy side of the evaluate benchmark: real dspy.Evaluate over dspy.Predict("question -> answer") with
dspy.LM pointed at the benchmark's OpenAI-compatible server (cache off), timed inside Python for each thread
count. Usage: evaluate_dspy.py API_BASE N THREADS[,THREADS...]; prints one JSON line."""

import json
import logging
import sys
import time

import dspy

logging.disable(logging.WARNING)


def exact_match(example, prediction, trace=None):
    return str(example.answer) == str(prediction.answer)


def devset(n: int, offset: int = 0) -> list:
    return [dspy.Example(question=f"What is {i} + {offset + 1}?", answer=str(i + offset + 1)).with_inputs("question") for i in range(n)]


def main() -> None:
    api_base, n, threads = sys.argv[1], int(sys.argv[2]), [int(t) for t in sys.argv[3].split(",")]
    lm = dspy.LM("openai/bench", api_base=api_base, api_key="sk-bench", cache=False, num_retries=0)
    dspy.configure(lm=lm, adapter=dspy.ChatAdapter())
    program = dspy.Predict("question -> answer")
    # Warm-up: imports, the HTTP client and its connections, outside the timed runs.
    dspy.Evaluate(devset=devset(max(threads)), metric=exact_match, num_threads=max(threads))(program)
    out = {}
    for t in threads:
        data = devset(n, offset=t)
        evaluator = dspy.Evaluate(devset=data, metric=exact_match, num_threads=t, display_progress=False, max_errors=n)
        started = time.perf_counter()
        result = evaluator(program)
        elapsed = time.perf_counter() - started
        out[str(t)] = {"examples": n, "seconds": elapsed, "ex_per_s": n / elapsed, "score": result.score}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
