"""ExecuteOperationASync, then poll GetExecuteOperationResult until SUCCESS, with each SDK."""

from __future__ import annotations

import json
import time

from sdk_clients import EXECUTE_ATTRIBUTES

POLL_DEADLINE_S = 30
POLL_INTERVAL_S = 0.25


def test_execute_then_poll_to_success(emulator, kind):
    client = emulator.client(kind)
    started = client.execute_async("ecs", "modifyInstanceType", EXECUTE_ATTRIBUTES, application_id="app-interop")
    assert str(started.get("Code", "200")) == "200", started
    assert started.get("RequestId"), started
    op_id = started.get("Data")
    assert isinstance(op_id, str) and op_id.startswith("op_"), f"ExecuteOperationASync returned no operation id: {started}"

    seen = []
    deadline = time.monotonic() + POLL_DEADLINE_S
    while time.monotonic() < deadline:
        body = client.get(op_id)   # a fresh nonce and timestamp on every poll
        data = body.get("Data")
        assert data, f"operation {op_id!r} has no Data right after creation: {body}"
        assert data.get("OperationId") == op_id, body
        status = data.get("Status")
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("SUCCESS", "FAILURE"):
            break
        time.sleep(POLL_INTERVAL_S)
    assert seen[0] in ("INIT", "RUNNING"), f"already terminal at the first poll: {seen}"
    assert seen and seen[-1] == "SUCCESS", f"statuses seen for {op_id!r}: {seen}"
    assert set(seen) <= {"INIT", "RUNNING", "SUCCESS"}, seen
    # the created operation's Arguments default to the Attributes sent (emulator README):
    # the JSON made the round trip through each SDK's form encoding intact
    assert json.loads(data.get("Arguments") or "null") == EXECUTE_ATTRIBUTES, data


def test_execute_with_sts_token(emulator, kind, sts_creds):
    started = emulator.client(kind, sts_creds).execute_async(
        "ecs", "modifyInstanceType", EXECUTE_ATTRIBUTES, application_id="app-interop",
        resource_group_id="rg-acfmzawhxxc6syq")
    op_id = started.get("Data")
    assert isinstance(op_id, str) and op_id, started
    body = emulator.client(kind, sts_creds).get(op_id)
    assert body["Data"]["OperationId"] == op_id, body
