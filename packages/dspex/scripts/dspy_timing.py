"""Times DSPy's own signature parsing, ChatAdapter.format (3 demos) and ChatAdapter.parse inside Python, for
bench/signature_micro.ts to put beside dspex's numbers. The workload is the bench's: the same signature, demos,
inputs and completion. Prints one JSON object on its last line.

Run: .venv/bin/python packages/dspex/scripts/dspy_timing.py [--seconds 0.5]
"""

from __future__ import annotations

import json
import sys
import time
import warnings

warnings.simplefilter("ignore")

import dspy  # noqa: E402

SIGNATURE = "question: str, context: list[str] -> answer: str, confidence: float"
DEMOS = [
    {"question": f"Demo question {i}?", "context": [f"fact {i}a", f"fact {i}b"], "answer": f"answer {i}", "confidence": 0.5 + i / 10}
    for i in range(3)
]
INPUTS = {"question": "Who wrote Hamlet?", "context": ["Shakespeare wrote plays.", "Hamlet is a tragedy."]}
COMPLETION = "[[ ## answer ## ]]\nWilliam Shakespeare\n\n[[ ## confidence ## ]]\n0.95\n\n[[ ## completed ## ]]"


def per_call_us(fn, seconds: float) -> float:
    """Median over rounds of the mean time per call, in microseconds."""
    for _ in range(50):
        fn()
    rounds = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rounds) < 5:
        n = 200
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - start) / n * 1e6)
    rounds.sort()
    return rounds[len(rounds) // 2]


def main() -> None:
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 0.5
    sig = dspy.Signature(SIGNATURE)
    adapter = dspy.ChatAdapter()
    results = {
        "dspy_version": dspy.__version__,
        "python": sys.version.split()[0],
        # DSPy has no signature cache: every dspy.Signature(str) parses and builds a pydantic model.
        "parse_us": per_call_us(lambda: dspy.Signature(SIGNATURE), seconds),
        "chat_format_3_demos_us": per_call_us(lambda: adapter.format(sig, DEMOS, INPUTS), seconds),
        "chat_parse_us": per_call_us(lambda: adapter.parse(sig, COMPLETION), seconds),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
