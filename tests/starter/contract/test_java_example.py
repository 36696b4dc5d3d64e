"""The Java example (contract/examples/java/) beside the Go and TypeScript ones.

The Temporal Java SDK cannot be had here (no Maven repository is reachable, only PyPI, Debian and
npm), so the example cannot be compiled against it. Two checks stand in:

- ``javac`` compiles it with nothing but the JDK: every error must be a missing SDK (or protobuf /
  Jackson) package or one of the classes imported from them, so the syntax and every JDK call are
  checked for real, and the SDK calls are not;
- the SDK calls are the ones the tested ``temporal`` CLI invocation makes (test_examples.py starts
  each example with it): the same workflow type, task queue, id, reuse policy, search attribute and
  input, and the same query and Update names.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.contract import CONTRACT_DIR, NAMES
from tests.starter.contract.test_examples import SIGNATURE_UPDATE, start_args

JAVA = CONTRACT_DIR / "examples" / "java"
NOT_HERE = ("io.temporal.", "com.google.protobuf.", "com.fasterxml.jackson.")
"""The packages the example needs beyond the JDK: the Temporal Java SDK and what it brings along."""


def _source() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(JAVA.glob("*.java")))


def _flat(text: str) -> str:
    """The source with its line breaks and indentation gone, so a call reads on one line."""
    return re.sub(r"\s*\n\s*", "", text)


def _javac_unexplained(sources: list[Path], out: Path) -> list[str]:
    """javac's errors on ``sources`` that the missing SDK does not explain."""
    javac = shutil.which("javac")
    if javac is None:
        pytest.skip("no JDK on this machine")
    done = subprocess.run(
        [javac, "-Xmaxerrs", "10000", "-d", str(out), *map(str, sources)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode == 0 or "does not exist" not in done.stderr:
        return [done.stderr or "compiled without the SDK?"]  # a syntax error stops javac before the imports
    text = "\n".join(path.read_text(encoding="utf-8") for path in sources)
    missing = {
        name.rsplit(".", 1)[-1]
        for name in re.findall(r"^import ([\w.]+);", text, re.MULTILINE)
        if name.startswith(NOT_HERE)
    }
    assert missing >= {"WorkflowClient", "WorkflowStub", "PayloadCodec", "JsonNode"}
    # javac's diagnostics: "File.java:LINE: error: WHAT", then the source line, a caret, and details.
    unexplained = []
    for part in re.split(r"^(?=\S+\.java:\d+: )", done.stderr, flags=re.MULTILINE):
        diagnostic = part.strip()
        if not diagnostic or re.fullmatch(r"\d+ errors?", diagnostic):
            continue
        package = re.search(r"error: package ([\w.]+) does not exist", diagnostic)
        symbol = re.search(r"error: cannot find symbol.*?symbol:\s+(?:class|variable) (\w+)", diagnostic, re.DOTALL)
        if package and (f"{package[1]}.".startswith(NOT_HERE) or package[1] in missing):
            continue  # an SDK package, or a nested class of a missing one (Payloads.Builder)
        if symbol and symbol[1] in missing:
            continue
        if "error: method does not override or implement a method from a supertype" in diagnostic:
            continue  # its supertype (the SDK's PayloadCodec) is one of the missing ones
        unexplained.append(diagnostic)
    return unexplained


def test_javac_finds_nothing_wrong_but_the_missing_sdk(tmp_path: Path) -> None:
    sources = sorted(JAVA.glob("*.java"))
    assert [path.name for path in sources] == ["RemoteCodec.java", "StartLoan.java"]
    assert _javac_unexplained(sources, tmp_path) == []


def test_the_javac_check_catches_a_wrong_jdk_call_or_a_syntax_error(tmp_path: Path) -> None:
    mistakes = [("HttpClient.newHttpClent()", "HttpClient.newHttpClient()"), ("Path.of(args;", "Path.of(args")]
    for wrong, right in mistakes:
        copies = tmp_path / right.split(".")[0]
        copies.mkdir()
        for source in JAVA.glob("*.java"):
            text = source.read_text(encoding="utf-8")
            (copies / source.name).write_text(text.replace(right, wrong) if right in text else text, encoding="utf-8")
        assert _javac_unexplained(sorted(copies.glob("*.java")), copies) != [], wrong


def test_the_java_example_makes_the_tested_cli_invocations_calls(tmp_path: Path) -> None:
    names = json.loads((CONTRACT_DIR / NAMES).read_text(encoding="utf-8"))
    example = CONTRACT_DIR / "examples" / "new_credit.json"
    request = json.loads(example.read_text(encoding="utf-8"))["request"]
    args = start_args(request, names["task_queue_default"], example)
    flags = dict(zip(args[2::2], args[3::2], strict=True))
    java = _flat(_source())

    assert f'newUntypedWorkflowStub("{flags["--type"]}",' in java
    assert f'.setTaskQueue("{flags["--task-queue"]}")' in java
    prefix = names["workflow_id"]["prefix"]
    assert flags["--workflow-id"] == prefix + request["request_key"]
    assert f'.setWorkflowId("{prefix}" + request.get("request_key").asText())' in java
    policy = re.sub(r"(?<!^)(?=[A-Z])", "_", flags["--id-reuse-policy"]).upper()  # RejectDuplicate
    assert f"WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_{policy}" in java
    attribute, product = flags["--search-attribute"].split("=")
    assert product == f'"{request["product"]}"'
    assert f'SearchAttributeKey.forKeyword("{attribute}"),request.path("product").asText("new_credit"))' in java
    # --input-file sends the whole document as the one argument; so does the Java example.
    assert flags["--input-file"] == str(example)
    assert "JsonNode input = json.readTree(" in java and "loan.start(input)" in java
    assert 'JsonNode request = input.get("request")' in java
    # The names it queries and updates by, the contract's and the CLI test's.
    assert list(names["queries"]) == ["state"] and 'loan.query("state", JsonNode.class)' in java
    assert SIGNATURE_UPDATE in names["updates"]
    assert f'loan.update("{SIGNATURE_UPDATE}", JsonNode.class, signature)' in java
    # The codec server's protocol, as the contract README states it.
    assert 'call("/encode", payloads)' in java and 'call("/decode", payloads)' in java
    assert '.header("Authorization", "Bearer " + token)' in java
