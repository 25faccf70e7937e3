"""The study_* commands through a real worker: an Optuna TPE study driven by ask/tell from "Node" learns where a
function is best, is reproducible under a seed, keeps proposals out of a region its constraints refuse, replays
trials into a new study, and refuses arguments and uses it does not grant."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from harness import WorkerProcess

DISTRIBUTIONS = {
    "x": {"type": "float", "low": 0.0, "high": 1.0},
    "n": {"type": "int", "low": 1, "high": 9, "step": 2},
    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
    "style": {"type": "categorical", "choices": [0, 1, 2]},
}


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerProcess]:
    """One worker for the module: each test works on studies of its own."""
    with WorkerProcess(commands=None) as proc:
        proc.ready()
        yield proc


def score(params: dict[str, Any]) -> float:
    """Best at x = 0.7, n = 5, style 2; lr does not matter."""
    return -((params["x"] - 0.7) ** 2) - 0.01 * abs(params["n"] - 5) - (0 if params["style"] == 2 else 0.1)


def run_study(worker: WorkerProcess, trials: int, seed: int = 3, **create: Any) -> tuple[str, list[dict[str, Any]]]:
    handle = worker.call("study_create", {"directions": ["maximize"], "distributions": DISTRIBUTIONS,
                                          "sampler": {"seed": seed, "n_startup_trials": 8}, **create})["handle"]
    asked = []
    for _ in range(trials):
        trial = worker.call("study_ask", {"handle": handle})
        asked.append(trial)
        worker.call("study_tell", {"handle": handle, "number": trial["number"], "state": "complete",
                                   "values": [score(trial["params"])]})
    return handle, asked


def test_tpe_learns_where_the_objective_is_best_and_samples_inside_each_distribution(worker: WorkerProcess) -> None:
    _, asked = run_study(worker, 40)
    assert [t["number"] for t in asked] == list(range(40))
    for trial in asked:
        p = trial["params"]
        assert 0 <= p["x"] <= 1 and p["n"] in (1, 3, 5, 7, 9) and 1e-4 <= p["lr"] <= 1 and p["style"] in (0, 1, 2)
    startup = [score(t["params"]) for t in asked[:8]]
    learned = [score(t["params"]) for t in asked[-16:]]
    assert sum(learned) / len(learned) > sum(startup) / len(startup)
    assert max(score(t["params"]) for t in asked) > -0.01  # within 0.1 of x = 0.7, n = 5, style 2


def test_a_seeded_study_proposes_the_same_trials_again(worker: WorkerProcess) -> None:
    _, first = run_study(worker, 14, seed=11)
    _, again = run_study(worker, 14, seed=11)
    _, other = run_study(worker, 14, seed=12)
    assert again == first
    assert other != first


def test_constraints_keep_tpe_out_of_the_refused_region(worker: WorkerProcess) -> None:
    handle = worker.call("study_create", {"directions": ["maximize"], "distributions": {"x": DISTRIBUTIONS["x"]},
                                          "sampler": {"seed": 5, "n_startup_trials": 10}, "constraints": ["x-low"]})["handle"]
    infeasible = []
    for _ in range(40):
        trial = worker.call("study_ask", {"handle": handle})
        x = trial["params"]["x"]
        violated = x > 0.6  # the constraint refuses 40% of the range; the objective peaks at 0.3
        infeasible.append(violated)
        told: dict[str, Any] = {"handle": handle, "number": trial["number"], "constraints": {"x-low": 1.0 if violated else 0.0}}
        worker.call("study_tell", {**told, "state": "pruned"} if violated else {**told, "state": "complete", "values": [-((x - 0.3) ** 2)]})
    assert sum(infeasible[-15:]) < sum(infeasible[:15])


def test_a_new_study_replays_finished_trials_and_adds_ones_asked_elsewhere(worker: WorkerProcess) -> None:
    _, asked = run_study(worker, 5)
    replay = [{"params": t["params"], "state": "complete", "values": [score(t["params"])]} for t in asked]
    replay.append({"params": asked[0]["params"], "state": "fail"})
    created = worker.call("study_create", {"directions": ["maximize"], "distributions": DISTRIBUTIONS,
                                           "trials": replay})
    assert created["trials"] == 6
    handle = created["handle"]
    assert worker.call("study_ask", {"handle": handle})["number"] == 6
    added = worker.call("study_tell", {"handle": handle, "params": asked[1]["params"], "state": "complete", "values": [0.5]})
    assert added == {"number": 7, "state": "complete"}
    refused = worker.call_error("study_tell", {"handle": handle, "params": {**asked[1]["params"], "x": 2.0},
                                               "state": "complete", "values": [0.5]})
    assert refused["type"] == "BadArguments" and "x" in refused["message"]


def test_multi_objective_studies_take_one_value_per_direction(worker: WorkerProcess) -> None:
    handle = worker.call("study_create", {"directions": ["maximize", "minimize"], "distributions": DISTRIBUTIONS})["handle"]
    trial = worker.call("study_ask", {"handle": handle})
    error = worker.call_error("study_tell", {"handle": handle, "number": trial["number"], "state": "complete", "values": [1.0]})
    assert error["type"] == "BadArguments" and "2 finite number" in error["message"]
    assert worker.call("study_tell", {"handle": handle, "number": trial["number"], "state": "complete",
                                      "values": [1.0, 0.2]}) == {"number": 0, "state": "complete"}
    again = worker.call_error("study_tell", {"handle": handle, "number": trial["number"], "state": "fail"})
    assert again["type"] == "BadArguments" and "not running" in again["message"]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ({"directions": ["up"]}, "directions"),
        ({"distributions": {"x": {"type": "float", "low": 0, "high": 1, "eval": "1"}}}, "eval"),
        ({"distributions": {"x": {"type": "float", "low": 0.1, "high": 1, "step": 0.1, "log": True}}}, "x"),
        ({"distributions": {"x": {"type": "int", "low": 0.5, "high": 3}}}, "integer"),
        ({"distributions": {"x": {"type": "categorical", "choices": [{"a": 1}]}}}, "choices"),
        ({"sampler": {"seed": 1, "storage": "sqlite:///x.db"}}, "storage"),
        ({"sampler": {"name": "cmaes"}}, "tpe"),
        ({"sampler": {"multivariate": "yes"}}, "multivariate"),
        ({"constraints": ["a", "a"]}, "distinct"),
    ],
)
def test_arguments_it_does_not_grant_are_refused_by_name(worker: WorkerProcess, args: dict[str, Any], names: str) -> None:
    error = worker.call_error("study_create", {"directions": ["maximize"], "distributions": DISTRIBUTIONS, **args})
    assert error["type"] == "BadArguments" and names in error["message"]


def test_node_holds_a_study_only_through_the_study_commands(worker: WorkerProcess) -> None:
    handle = worker.call("study_create", {"directions": ["maximize"], "distributions": DISTRIBUTIONS})["handle"]
    assert worker.call_error("get_attr", {"handle": handle, "name": "study"})["type"] == "NotAllowed"
    assert worker.call_error("call", {"handle": handle})["type"] == "NotAllowed"
    made = worker.call_error("create", {"class": "dspex_bridge.commands.study.OptunaStudy"})
    assert made["type"] == "NotAllowed"
    assert worker.call_error("study_ask", {"handle": "h999999"})["type"] == "UnknownHandle"
    assert worker.call("delete", {"handle": handle}) is True


def test_an_operator_allow_list_still_lets_node_hold_studies() -> None:
    with WorkerProcess("--allow", "dspy.Predict", commands=None) as proc:
        proc.ready()
        handle = proc.call("study_create", {"directions": ["minimize"], "distributions": DISTRIBUTIONS})["handle"]
        assert proc.call("study_ask", {"handle": handle})["number"] == 0
