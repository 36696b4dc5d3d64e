"""The workers' sandbox answers the SDK's context questions from memory (workflows.runner): each
question for no command is put to the sandboxed instance once per run, a command's once while it
is the last one asked about; everything else goes straight through."""

from __future__ import annotations

from collections import Counter
from typing import Any

from temporalio.api.enums.v1 import CommandType
from temporalio.worker._command_aware_visitor import CommandInfo

from workflows.runner import _RememberedContexts

ACTIVITY = CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK


class Inner:
    """Stands in for the sandboxed instance: counts each question, answers with what was asked."""

    def __init__(self) -> None:
        self.asked: Counter[tuple[str, Any]] = Counter()

    def get_serialization_context(self, info: CommandInfo | None) -> Any:
        self.asked["serialization", info] += 1
        return ("serialization", info)

    def get_external_store_context(self, info: CommandInfo | None) -> Any:
        self.asked["store", info] += 1
        return ("store", info)

    def activate(self, act: Any) -> Any:
        return ("completed", act)

    def get_info(self) -> Any:
        return "info"

    def get_thread_id(self) -> int | None:
        return 7


def test_each_question_is_put_to_the_sandbox_once_while_its_command_is_the_last_asked_about() -> None:
    inner = Inner()
    remembered: Any = _RememberedContexts(inner)  # type: ignore[arg-type]
    first, second = CommandInfo(ACTIVITY, 1), CommandInfo(ACTIVITY, 2)
    for _ in range(3):
        assert remembered.get_serialization_context(None) == ("serialization", None)
        assert remembered.get_serialization_context(first) == ("serialization", first)
        assert remembered.get_external_store_context(first) == ("store", first)
    assert remembered.get_serialization_context(CommandInfo(ACTIVITY, 1)) == ("serialization", first)
    assert inner.asked == {("serialization", None): 1, ("serialization", first): 1, ("store", first): 1}

    assert remembered.get_serialization_context(second) == ("serialization", second)
    assert remembered.get_serialization_context(first) == ("serialization", first)  # forgotten: asked again
    assert remembered.get_serialization_context(None) == ("serialization", None)  # kept for the run
    assert inner.asked[("serialization", first)] == 2
    assert inner.asked[("serialization", second)] == 1
    assert inner.asked[("serialization", None)] == 1


def test_everything_else_goes_to_the_sandboxed_instance() -> None:
    remembered: Any = _RememberedContexts(Inner())  # type: ignore[arg-type]
    assert remembered.activate("activation") == ("completed", "activation")
    assert remembered.get_info() == "info"
    assert remembered.get_thread_id() == 7
