"""Real dspy.Evaluate on the data the TypeScript test sends (stdin, JSON): dspy.Predict answered by DummyLM
from a {question: answer} table (questions missing from it fail to parse, so they fail as examples), a token
overlap metric, and Python's round() on a list of values. Prints one JSON line: the score, per-example scores
and the rounded values."""

import json
import logging
import sys

import dspy
from dspy.utils import DummyLM

logging.disable(logging.CRITICAL)


def overlap(example, prediction, trace=None):
    gold = set(str(example.answer).split())
    got = set(str(prediction.answer).split())
    return len(gold & got) / len(gold)


def main() -> None:
    data = json.load(sys.stdin)
    # DummyLM matches a key against the last message's text; "question\n\n" is unique for distinct questions.
    answers = {f"{question}\n\n": {"answer": answer} for question, answer in data["answers"].items()}
    dspy.configure(lm=DummyLM(answers), adapter=dspy.ChatAdapter())
    devset = [dspy.Example(**row).with_inputs("question") for row in data["devset"]]
    evaluator = dspy.Evaluate(
        devset=devset,
        metric=overlap,
        num_threads=data["num_threads"],
        failure_score=data["failure_score"],
        max_errors=len(devset) + 1,
    )
    result = evaluator(dspy.Predict("question -> answer"))
    print(json.dumps({
        "score": result.score,
        "scores": [score for _example, _prediction, score in result.results],
        "answers": [prediction.get("answer") for _example, prediction, _score in result.results],
        "rounded": {str(ndigits): [round(value, int(ndigits)) for value in data["round"]] for ndigits in data["ndigits"]},
    }))


if __name__ == "__main__":
    main()
