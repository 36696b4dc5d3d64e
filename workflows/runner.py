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

from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Top-level packages whose every module is deterministic and free of I/O (see above); a prefix
# covers its submodules.
PASSED_THROUGH = ("domain", "workflows")


def workflow_runner() -> WorkflowRunner:
    """The sandbox every worker of ours runs workflows in."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH))


def strict_workflow_runner() -> WorkflowRunner:
    """The SDK's default sandbox: workflow modules re-imported per run, a non-deterministic call in
    them raises. Slower; for the replay tests."""
    return SandboxedWorkflowRunner()
