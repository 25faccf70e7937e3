"""`propose_instructions`: DSPy's own instruction proposer (dspy.propose.GroundedProposer, what MIPROv2 proposes
with) run on a program in the session, with the session's LM as the prompt model. Node evaluates the proposals
itself (the orchestration package's `proposeInstructions` sampler runs each as a trial of its optimize loop).

The proposer is built through the grant like an optimizer: its table entry (`propose`) lists the arguments Node
may set; the program (a handle the grant lets `call` run), the prompt model and the trainset come from here.
"""

from __future__ import annotations

import random
from typing import Any

from ..capabilities import qualified_name
from ..context import current_call
from ..errors import BadArguments, NotAllowed
from ..lm import session_lm
from ..registry import command
from .evaluation import to_examples
from .programs import current_grant

#: The proposer `propose_instructions` builds (walked through the grant, so an operator's --allow can leave it out).
PROPOSER = "dspy.propose.GroundedProposer"
#: Settings that fit a proposal without trial history: no instruction history (there are no logs to read), the
#: program's own source not summarized (a twin of a native program is only its predictors), a tip drawn per
#: proposal as MIPROv2 does. A dataset summary is made when a trainset is given.
_DEFAULTS = {"program_aware": False, "use_instruct_history": False, "set_history_randomly": False,
             "set_tip_randomly": True, "use_task_demos": False}
_MAX_PROPOSALS = 100


@command("propose_instructions")
def propose_instructions(
    handle: str,
    n: int,
    trainset: list[dict[str, Any]] | None = None,
    input_keys: list[str] | None = None,
    proposer_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """-> {"instructions": [[str, ...] per predictor of the program, in predictors() order], "proposer"}: `n`
    proposals for each predictor, from GroundedProposer with the session's LM (configure_lm first)."""
    import dspy

    session = current_call().session
    grant = current_grant()
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_PROPOSALS:
        raise BadArguments(f'"n" must be an integer from 1 to {_MAX_PROPOSALS}, not {n!r}')
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise BadArguments(f'"seed" must be an integer, not {seed!r}')
    program = session.get(handle)
    grant.check_callable(program)
    cls, entry = grant.resolve(PROPOSER)
    if entry.propose is None:
        raise NotAllowed(f"{PROPOSER!r} ({qualified_name(cls)}) is granted, but not as an instruction proposer")
    _, kwargs = grant.bind(cls, entry.propose, session, None, proposer_kwargs, purpose="proposal")
    examples = to_examples(trainset, input_keys, "trainset") if trainset else []
    grant.check_arguments(trainset or [])
    settings = {**_DEFAULTS, "use_dataset_summary": bool(examples), **kwargs}
    with session_lm(session):
        prompt_model = dspy.settings.lm
        if prompt_model is None:
            raise BadArguments("propose_instructions needs an LM: call configure_lm in this session first")
        proposer = cls(prompt_model=prompt_model, program=program, trainset=examples, rng=random.Random(seed),
                       verbose=False, **settings)
        proposals = proposer.propose_instructions_for_program(
            trainset=examples, program=program, demo_candidates=None, trial_logs={}, N=n)
    return {"instructions": [[str(text) for text in proposals.get(i, [])] for i in range(len(program.predictors()))],
            "proposer": qualified_name(cls)}
