"""How workers run workflow code: the SDK's sandbox, with the project's own deterministic code passed
through (one place: the worker and the benchmark's workers use it; the tests say which they run).

The SDK's sandbox re-imports each workflow's module for every workflow it runs (every loan a worker
starts or brings back into its cache), to isolate module state. That re-import — compiling and
executing ``workflows.loan.workflow`` and re-deriving the workflow definition — was most of the
worker's workflow CPU and a copy of the module per cached loan. Temporal's guide to the sandbox
recommends passing through, for performance, the separate modules whose calls are deterministic
(https://docs.temporal.io/develop/python/python-sdk-sandbox, "Passthrough modules";
``SandboxRestrictions.with_passthrough_modules``). Ours qualify: ``domain`` is pure by the layer rule
(tests/test_layers.py), and ``workflows`` holds only workflow code and the pure helpers it runs — no
I/O, and no module state but constant tables and the registered earlier-news reader (set once by the
worker at start). pydantic, pydantic_core and annotated_types are in the SDK's default passthrough
set already. The sandbox still restricts the builtins (``open`` and the like) for every activation.

What passing through gives up is the sandbox's import-time proxies that raise on a non-deterministic
call (``datetime.now()``, ``random``) in workflow code. ``strict_workflow_runner`` keeps them: the
replay tests replay every recorded history under it too (tests/workflows/loan/test_replay.py), and
the in-process loan tests run every workflow path they reach under it (tests/workflows/loan/conftest.py);
the tests on the local stack run the workers' runner, as shipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import temporalio.workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import SerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Top-level packages whose every module is deterministic and free of I/O (see above); a prefix
# covers its submodules.
PASSED_THROUGH = ("domain", "workflows")


class _RememberedContexts(WorkflowInstance):
    """A sandboxed workflow instance that answers the SDK's repeated questions about a command's
    serialization context from memory.

    With a payload codec, the SDK asks the instance, for every payload of every activation and
    completion it encodes or decodes, which context the payload belongs to (the workflow's, or the
    activity's, child's, ... its command names) and, in the same breath, which external-store
    context. In the sandbox each question is an ``exec`` of a small snippet inside it, with its
    importer applied: about 140 a loan, most of a workflow task's sandbox cost. The answer for a
    command does not change while its payloads are visited (the command is pending from the
    activation that scheduled it until the one that resolves it, and its identity — the command's
    type and sequence number — is never reused within a run), and payloads outside a command
    always get the workflow's own context; so the answer for no command is kept for the run and the
    last command's answer until another command is asked about (consecutive payloads mostly share
    one: a command's input and its headers). A new instance — a run brought back into the cache —
    starts with no memory."""

    __slots__ = ("_inner", "_remembered")

    def __init__(self, inner: WorkflowInstance) -> None:
        self._inner = inner
        # (which question, command type and sequence or None) → answer: the no-command answers
        # and the last command's.
        self._remembered: dict[tuple[str, tuple[int, int] | None], Any] = {}

    def _answer(self, question: str, command_info: Any, ask: Any) -> Any:
        command = None if command_info is None else (command_info.command_type, command_info.command_seq)
        key = (question, command)
        try:
            return self._remembered[key]
        except KeyError:
            pass
        answer = ask(command_info)
        if command is not None:
            # Only the last command's answers are kept beside the no-command ones.
            for stale in [k for k in self._remembered if k[1] is not None and k[1] != command]:
                del self._remembered[stale]
        self._remembered[key] = answer
        return answer

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self._inner.activate(act)

    def get_serialization_context(self, command_info: Any) -> SerializationContext | None:
        answer: SerializationContext | None = self._answer(
            "serialization", command_info, self._inner.get_serialization_context
        )
        return answer

    def get_external_store_context(self, command_info: Any) -> Any:
        return self._answer("store", command_info, self._inner.get_external_store_context)

    def get_info(self) -> temporalio.workflow.Info:
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()


@dataclass(frozen=True)
class _Sandboxed(SandboxedWorkflowRunner):
    """The SDK's sandbox, each instance answering context questions from memory (above)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _RememberedContexts(super().create_instance(det))


def workflow_runner() -> WorkflowRunner:
    """The sandbox every worker of ours runs workflows in."""
    return _Sandboxed(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH))


def strict_workflow_runner() -> WorkflowRunner:
    """The SDK's default sandbox: workflow modules re-imported per run, a non-deterministic call in
    them raises. Slower; for the replay tests."""
    return SandboxedWorkflowRunner()
