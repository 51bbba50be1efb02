"""GetExecuteOperationResult through each official SDK: tricky ids must verify and return
exactly the scenario's Data, with and without ResourceGroupId, with AK and with STS keys."""

from __future__ import annotations

import pytest

from conftest import load_scenario

SCENARIO = load_scenario("interop.toml")
DONE_OPS = [o for o in SCENARIO["operations"] if o.get("lifecycle") == "done" and not o.get("expired")]
ALL_IDS = [o["id"] for o in DONE_OPS]
COMBINED_ID = "op with space*~+/=&é中"
assert COMBINED_ID in ALL_IDS
# None: parameter not sent; "": sent empty ("ResourceGroupId="); plus a realistic id
RESOURCE_GROUPS = [None, "rg-acfmzawhxxc6syq", ""]


def expected_data(op):
    return {"OperationId": op["id"], "Status": "SUCCESS", "Message": op["message"], "Arguments": op["arguments"]}


def assert_ok(body, op):
    assert str(body.get("Code", "200")) == "200", body
    assert "Data" in body, f"no Data for {op['id']!r}: {body}"
    data = body["Data"]
    for key, want in expected_data(op).items():
        assert data.get(key) == want, f"Data.{key}: {data.get(key)!r} != {want!r} (body {body})"
    assert body.get("RequestId"), body


@pytest.mark.parametrize("rg", RESOURCE_GROUPS, ids=lambda v: "rg-unset" if v is None else f"rg={v!r}")
@pytest.mark.parametrize("op", DONE_OPS, ids=[o["id"] for o in DONE_OPS])
def test_get_tricky_ids(emulator, kind, op, rg):
    body = emulator.client(kind).get(op["id"], resource_group_id=rg)
    assert_ok(body, op)


@pytest.mark.parametrize("op_id", ["op_interop_plain_0001_ecs_modifyInstanceType_BYSOQGWUV6PME412", COMBINED_ID,
                                   "op%20literal%2Apercent%"])
@pytest.mark.parametrize("rg", [None, "rg-acfmzawhxxc6syq"], ids=["rg-unset", "rg-set"])
def test_get_with_sts_token(emulator, kind, sts_creds, op_id, rg):
    op = next(o for o in DONE_OPS if o["id"] == op_id)
    body = emulator.client(kind, sts_creds).get(op_id, resource_group_id=rg)
    assert_ok(body, op)


TRICKY_VALUE = "a b*c~d+e/f=g&h%2A!'()é中🚀"


def test_tricky_extra_query_parameter(emulator, kind):
    """A signed query parameter with every awkward character: in V1 it joins the signed
    parameter set (query side, not body); in V3 it is the canonical query string, the one place
    where RPC-over-V3 runs the server's percent-encoder."""
    client = emulator.client(kind, extra_query={"InteropExtra": TRICKY_VALUE})
    op = next(o for o in DONE_OPS if o["id"] == COMBINED_ID)
    assert_ok(client.get(COMBINED_ID, resource_group_id="rg-acfmzawhxxc6syq"), op)


def test_v3_signs_extra_headers(emulator):
    """tea-openapi signs every header it sends: upper-case names, inner spaces, punctuation."""
    client = emulator.client("tea-v3", extra_headers={
        "X-Acs-Interop-Upper": "Value  with  inner  spaces, commas;semicolons:colons ",
        "x-interop-plain": "=+/*~",
    })
    op = next(o for o in DONE_OPS if o["id"] == COMBINED_ID)
    assert_ok(client.get(COMBINED_ID), op)


def test_legacy_get_method_with_query_params(emulator):
    """RPC also allows GET with every parameter in the query: string-to-sign starts `GET&%2F&`."""
    from aliyunsdkbpstudio.request.v20210931.GetExecuteOperationResultRequest import (
        GetExecuteOperationResultRequest,
    )

    client = emulator.client("legacy-v1")
    req = GetExecuteOperationResultRequest()
    req.set_method("GET")
    req.add_query_param("OperationId", COMBINED_ID)
    req.add_query_param("ResourceGroupId", "rg-acfmzawhxxc6syq")
    op = next(o for o in DONE_OPS if o["id"] == COMBINED_ID)
    assert_ok(client._send(req), op)


def test_get_non_terminal_status(emulator, kind):
    body = emulator.client(kind).get("op_interop_running")
    assert body["Data"]["OperationId"] == "op_interop_running"
    assert body["Data"]["Status"] in ("INIT", "RUNNING"), body


def test_get_expired_operation_has_no_data(emulator, kind):
    body = emulator.client(kind).get("op_interop_expired")
    assert "Data" not in body or body["Data"] is None, body


def test_get_unknown_operation_has_no_data(emulator, kind):
    body = emulator.client(kind).get("op_interop_never_created_0000")
    assert "Data" not in body or body["Data"] is None, body


def test_clients_really_use_their_signature_version(emulator, monkeypatch):
    """Self-check of the harness: the three clients differ where we claim they do."""
    from sdk_clients import capture_tea_requests

    sent = capture_tea_requests(monkeypatch)
    emulator.client("tea-v3").get(COMBINED_ID)
    emulator.client("tea-v1").get(COMBINED_ID)
    v3, v1 = sent
    assert v3["headers"]["Authorization"].startswith("ACS3-HMAC-SHA256 Credential=")
    assert "Signature" not in v3["query"] and "x-acs-signature-nonce" in v3["headers"]
    assert v3["headers"]["host"] == emulator.host_port
    assert "Authorization" not in v1["headers"]
    assert v1["query"]["SignatureMethod"] == "HMAC-SHA1" and v1["query"]["SignatureVersion"] == "1.0"
    assert v1["query"]["Signature"]


def test_concurrent_requests(emulator, kind):
    """Several SDK clients at once (own threads, own connections, fresh nonces): all verify."""
    from concurrent.futures import ThreadPoolExecutor

    ops = DONE_OPS

    def worker(i):
        client = emulator.client(kind)
        out = []
        for j in range(6):
            op = ops[(i + j) % len(ops)]
            out.append((op, client.get(op["id"])))
        return out

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = [r for chunk in pool.map(worker, range(6), timeout=60) for r in chunk]
    assert len(results) == 36
    for op, body in results:
        assert_ok(body, op)
