"""The worker's side of tracing: which call frames turn span recording on, and the spans a DSPy LM call leaves."""

from __future__ import annotations

import dspy

from dspex_bridge.context import CallContext, bind_context
from dspex_bridge.session import SessionStore
from dspex_bridge.tracing import start_trace, with_spans

SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _ctx() -> CallContext:
    return CallContext(1, "call", SessionStore().get(None))


def test_only_a_valid_sampled_traceparent_turns_recording_on() -> None:
    for carrier in (None, {}, {"traceparent": "junk"}, {"traceparent": SAMPLED[:-2] + "00"}):
        ctx = _ctx()
        start_trace(ctx, carrier)
        assert with_spans(ctx, {"t": "result"}) == {"t": "result"}
    ctx = _ctx()
    start_trace(ctx, {"traceparent": SAMPLED})
    assert getattr(ctx, "trace_spans") == []


def test_a_dspy_lm_call_in_a_traced_call_comes_back_as_a_gen_ai_span() -> None:
    ctx = _ctx()
    start_trace(ctx, {"traceparent": SAMPLED})

    def run() -> None:
        with dspy.context(lm=dspy.utils.DummyLM([{"answer": "blue"}])):
            dspy.Predict("question -> answer")(question="sky?")

    bind_context(ctx).run(run)
    reply = with_spans(ctx, {"t": "result", "id": 1, "value": None})
    [span] = reply["spans"]
    assert span["name"] == "chat dummy"
    assert span["attributes"]["gen_ai.operation.name"] == "chat"
    assert span["attributes"]["gen_ai.request.model"] == "dummy"
    assert span["start_ns"] <= span["end_ns"]
    assert "error" not in span
