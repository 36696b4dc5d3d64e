"""The codec refuses clear payloads where it must: with ``require_encrypted`` (the workers'
production default) a payload written without the key becomes one no converter reads, except the
Schedules' inputs the set-up job writes without a key, and only in their own workflows' context.

The real thing, on a dev server, is tests/runtime/test_clear_payloads.py."""

from __future__ import annotations

import logging
import os
import re

import pytest
from pydantic import BaseModel, SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext

from activities.qitech.models.webhooks import ReceivedWebhook
from ops.schedules import REFRESHED_TABLES
from runtime.codec.aes import REFUSED_ENCODING, AesGcmCodec, new_key
from runtime.codec.settings import SCHEDULED_CLEAR_INPUTS, CodecSettings
from runtime.settings import ENV_VARIABLE
from runtime.temporal import data_converter
from workflows.catalog.contract import RefreshInput, schedule_id
from workflows.loan.contract import LoanInput
from workflows.mailbox.contract import MailboxInput
from workflows.recovery.contract import RECOVERY_SCHEDULE_ID, RecoveryInput

DUE = "2026-11-23T14:00:00Z"  # how a Schedule stamps the workflows it starts
CLEAR = Payload(metadata={"encoding": b"json/plain"}, data=b'{"cpf": "14950479032"}')


def _codec(*, require_encrypted: bool = True) -> AesGcmCodec:
    return AesGcmCodec(
        {"k1": os.urandom(32)}, "k1", require_encrypted=require_encrypted, clear_inputs=SCHEDULED_CLEAR_INPUTS
    )


def _in_workflow(codec: AesGcmCodec, workflow_id: str) -> AesGcmCodec:
    return codec.with_context(WorkflowSerializationContext(namespace="default", workflow_id=workflow_id))


def _json(value: BaseModel) -> Payload:
    return pydantic_data_converter.payload_converter.to_payloads([value])[0]


async def test_a_clear_payload_is_refused_and_an_encrypted_one_still_decodes(caplog: pytest.LogCaptureFixture) -> None:
    codec = _codec()
    [encrypted] = await codec.encode([CLEAR])
    with caplog.at_level(logging.WARNING, logger="codec"):
        decoded, refused = await _in_workflow(codec, "loan-abc").decode([encrypted, CLEAR])
    assert decoded == CLEAR
    assert refused.metadata["encoding"] == REFUSED_ENCODING and refused.data == b""
    # The log says which workflow and why, never the payload's content.
    assert "loan-abc" in caplog.text and "not encrypted" in caplog.text and "14950479032" not in caplog.text


async def test_without_the_option_clear_payloads_pass_as_before() -> None:
    # The control: the same codec without require_encrypted (replays of pre-codec histories).
    assert await _in_workflow(_codec(require_encrypted=False), "loan-abc").decode([CLEAR]) == [CLEAR]


async def test_a_refused_payload_fails_its_conversion_with_a_message_that_says_why() -> None:
    converter = data_converter(_codec()).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="loan-abc")
    )
    with pytest.raises(Exception, match="not encrypted") as refused:
        await converter.decode([CLEAR], [ReceivedWebhook])
    assert "CODEC_REQUIRE_ENCRYPTED" in str(refused.value)


async def test_the_schedules_clear_inputs_pass_only_in_their_own_workflows() -> None:
    codec = _codec()
    recovery, refresh = (
        _json(RecoveryInput()),
        _json(RefreshInput(provider=REFRESHED_TABLES[0][0], refresh=REFRESHED_TABLES[0][1])),
    )
    recovery_run = f"{RECOVERY_SCHEDULE_ID}-{DUE}"
    refresh_run = f"{schedule_id(*REFRESHED_TABLES[0])}-{DUE}"
    assert await _in_workflow(codec, recovery_run).decode([recovery]) == [recovery]
    assert await _in_workflow(codec, refresh_run).decode([refresh]) == [refresh]
    refused = [
        # another workflow's id, the Schedule's id without its stamp, a prefix trick, each other's input
        (f"loan-{DUE}", recovery),
        (RECOVERY_SCHEDULE_ID, recovery),
        (f"x{recovery_run}", recovery),
        (f"{recovery_run}-more", recovery),
        (recovery_run, refresh),
        (refresh_run, recovery),
        # a payload with more than the Schedule's input: a loan's
        (recovery_run, Payload(metadata={"encoding": b"json/plain"}, data=b'{"look_back": "P1D", "request": {}}')),
        (recovery_run, Payload(metadata={"encoding": b"json/plain"}, data=b"null")),
        (recovery_run, Payload(metadata={"encoding": b"binary/null"})),
    ]
    for workflow_id, payload in refused:
        [result] = await _in_workflow(codec, workflow_id).decode([payload])
        assert result.metadata["encoding"] == REFUSED_ENCODING, (workflow_id, payload.data)
    # No workflow context (or an activity's, even in that workflow): refused.
    assert (await codec.decode([recovery]))[0].metadata["encoding"] == REFUSED_ENCODING
    activity = ActivitySerializationContext(
        namespace="default",
        activity_id="1",
        activity_type="resend_failed_webhooks",
        activity_task_queue="q",
        workflow_id=recovery_run,
        workflow_type="WebhookRecovery",
        is_local=False,
    )
    assert (await codec.with_context(activity).decode([recovery]))[0].metadata["encoding"] == REFUSED_ENCODING


def test_the_exceptions_are_the_set_up_jobs_schedules_and_nothing_else_fits_them() -> None:
    """The codec imports nothing of ours, so its list is written out: it must name exactly the
    Schedules' ids and input fields, and no loan or mailbox input can be made of those fields."""
    recovery, refresh = SCHEDULED_CLEAR_INPUTS
    assert recovery.workflow_id.fullmatch(f"{RECOVERY_SCHEDULE_ID}-{DUE}")
    assert recovery.fields == set(RecoveryInput.model_fields)
    assert {refresh for _, refresh in REFRESHED_TABLES} == {"refresh_products", "refresh_ctc_participants"}
    for table in REFRESHED_TABLES:
        assert refresh.workflow_id.fullmatch(f"{schedule_id(*table)}-{DUE}")
    assert refresh.fields == set(RefreshInput.model_fields)
    for model in (LoanInput, MailboxInput):
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        for allowed in SCHEDULED_CLEAR_INPUTS:
            assert required - allowed.fields, f"a {model.__name__} could pass as a Schedule's input"
    # The Schedules' stamp is Temporal's: the action's id, a dash, the due time in UTC to the second.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", DUE)


def test_the_setting_is_on_in_production_and_off_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = SecretStr(f"k1:{new_key()}")
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    monkeypatch.delenv("CODEC_REQUIRE_ENCRYPTED", raising=False)
    assert CodecSettings(keys=keys).codec().require_encrypted
    assert not CodecSettings(keys=keys, require_encrypted=False).codec().require_encrypted  # draining old runs
    assert not CodecSettings(keys=keys).codec(require_encrypted=False).require_encrypted  # the codec server's
    monkeypatch.setenv(ENV_VARIABLE, "development")
    assert not CodecSettings(keys=keys).codec().require_encrypted
    monkeypatch.setenv("CODEC_REQUIRE_ENCRYPTED", "true")
    assert CodecSettings(keys=keys).codec().require_encrypted
