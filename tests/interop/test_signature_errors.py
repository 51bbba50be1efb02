"""The emulator must refuse what the real service refuses, with the service's error codes,
as seen through each official SDK's own exception (TeaException.code / ServerException)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from conftest import AK, UNKNOWN_AK
from sdk_clients import ApiError, Credentials, client_class

OP_ID = "op with space*~+/=&é中"


def iso(delta: dt.timedelta) -> str:
    return (dt.datetime.now(dt.timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def call_error(fn) -> ApiError:
    with pytest.raises(ApiError) as ei:
        fn()
    return ei.value


def assert_sdk_code(err: ApiError, kind: str, code: str):
    """The code as the SDK itself reports it, not just as our adapter copied it."""
    if kind.startswith("tea"):
        from Tea.exceptions import TeaException

        assert isinstance(err.sdk_exc, TeaException)
        assert err.sdk_exc.code == code, err
    else:
        from aliyunsdkcore.acs_exception.exceptions import ServerException

        assert isinstance(err.sdk_exc, ServerException)
        assert err.sdk_exc.get_error_code() == code, err


# ------------------------------------------------------------------ wrong secret
def test_wrong_secret_is_signature_does_not_match(emulator, kind):
    wrong = Credentials(AK.access_key_id, AK.access_key_secret + "x")
    err = call_error(lambda: emulator.client(kind, wrong).get(OP_ID))
    assert err.status == 400, err
    if kind == "legacy-v1":
        # aliyun-python-sdk-core compares the server's echoed string-to-sign (after the ':' of
        # "server string to sign is:") with its own, and when they are equal rewrites the code to
        # InvalidAccessKeySecret. So this code proves the emulator echoed *exactly* our string.
        assert_sdk_code(err, kind, "InvalidAccessKeySecret")
    else:
        assert_sdk_code(err, kind, "SignatureDoesNotMatch")


def test_error_body_has_the_service_fields(emulator, kind):
    err = call_error(lambda: emulator.client(kind, UNKNOWN_AK).get(OP_ID))
    if kind.startswith("tea"):
        body = err.sdk_exc.data            # tea keeps the whole parsed error body
        for field in ("RequestId", "HostId", "Code", "Message", "Recommend"):
            assert body.get(field), f"error body lacks {field}: {body}"
    else:                                  # aliyun-python-sdk-core keeps code, message, request id
        assert err.sdk_exc.get_error_msg(), err
    assert err.request_id and err.request_id != "None", err


def test_wrong_secret_echoes_our_v1_string_to_sign(emulator, monkeypatch):
    from sdk_clients import capture_rpc_string_to_sign

    seen = capture_rpc_string_to_sign(monkeypatch)
    wrong = Credentials(AK.access_key_id, "not-the-secret")
    err = call_error(lambda: emulator.client("tea-v1", wrong).get(OP_ID, resource_group_id="rg-é 中"))
    assert err.code == "SignatureDoesNotMatch", err
    assert len(seen) == 1
    assert "server string to sign is:" in err.message, err.message
    echoed = err.message.split("server string to sign is:", 1)[1].strip()
    assert echoed == seen[0], f"\nserver: {echoed}\nsdk:    {seen[0]}"


def test_wrong_secret_echoes_our_v3_string_to_sign(emulator, monkeypatch):
    from sdk_clients import capture_v3_string_to_sign

    seen = capture_v3_string_to_sign(monkeypatch)
    wrong = Credentials(AK.access_key_id, "not-the-secret")
    err = call_error(lambda: emulator.client("tea-v3", wrong, extra_query={"InteropExtra": "é 中*"}).get(OP_ID))
    assert err.code == "SignatureDoesNotMatch", err
    assert len(seen) == 1
    assert "server string to sign is:" in err.message, err.message
    echoed = err.message.split("server string to sign is:", 1)[1].strip()
    assert echoed == seen[0], f"\nserver: {echoed!r}\nsdk:    {seen[0]!r}"


def test_wrong_secret_with_sts_key(emulator, kind, sts_creds):
    wrong = Credentials(sts_creds.access_key_id, "wrong-secret", sts_creds.security_token)
    err = call_error(lambda: emulator.client(kind, wrong).get(OP_ID))
    assert err.code in ("SignatureDoesNotMatch", "InvalidAccessKeySecret"), err
    assert err.status == 400, err


def test_sts_key_with_another_token_is_refused(emulator, kind, sts_creds):
    """The token is checked, not merely carried: same key and secret, a different token."""
    other = Credentials(sts_creds.access_key_id, sts_creds.access_key_secret, sts_creds.security_token + "x")
    err = call_error(lambda: emulator.client(kind, other).get(OP_ID))
    assert_sdk_code(err, kind, "InvalidSecurityToken.MismatchWithAccessKey")
    assert err.status == 400, err


# ------------------------------------------------------------------ unknown key
def test_unknown_access_key_id(emulator, kind):
    err = call_error(lambda: emulator.client(kind, UNKNOWN_AK).get(OP_ID))
    assert_sdk_code(err, kind, "InvalidAccessKeyId.NotFound")
    assert err.status == 404, err


# ------------------------------------------------------------------ nonce replay
def test_reused_nonce_is_refused(emulator, kind, monkeypatch):
    client = emulator.client(kind)
    client_class(kind).pin_nonce(monkeypatch, uuid.uuid4().hex)
    first = client.get(OP_ID)
    assert first["Data"]["OperationId"] == OP_ID, first
    err = call_error(lambda: client.get(OP_ID))
    assert_sdk_code(err, kind, "SignatureNonceUsed")
    assert err.status == 400, err


def test_reused_nonce_refused_even_for_another_request(emulator, kind, monkeypatch):
    client = emulator.client(kind)
    client_class(kind).pin_nonce(monkeypatch, uuid.uuid4().hex)
    client.get(OP_ID)
    err = call_error(lambda: client.get("op_interop_running", resource_group_id="rg-acfmzawhxxc6syq"))
    assert_sdk_code(err, kind, "SignatureNonceUsed")


def test_fresh_nonces_are_accepted(emulator, kind):
    client = emulator.client(kind)
    for _ in range(3):
        assert client.get(OP_ID)["Data"]["OperationId"] == OP_ID


# ------------------------------------------------------------------ clock skew
@pytest.mark.parametrize("delta", [dt.timedelta(minutes=-20), dt.timedelta(minutes=20)], ids=["past-20m", "future-20m"])
def test_skewed_client_timestamp_is_expired(emulator, kind, monkeypatch, delta):
    client_class(kind).pin_timestamp(monkeypatch, iso(delta))
    err = call_error(lambda: emulator.client(kind).get(OP_ID))
    assert_sdk_code(err, kind, "InvalidTimeStamp.Expired")
    assert err.status == 400, err


@pytest.mark.parametrize("delta", [dt.timedelta(minutes=-5), dt.timedelta(minutes=5)], ids=["past-5m", "future-5m"])
def test_small_skew_is_accepted(emulator, kind, monkeypatch, delta):
    client_class(kind).pin_timestamp(monkeypatch, iso(delta))
    assert emulator.client(kind).get(OP_ID)["Data"]["OperationId"] == OP_ID


def test_emulator_clock_skew_setting(skewed_emulator, kind):
    err = call_error(lambda: skewed_emulator.client(kind).get("op_interop_skewed"))
    assert_sdk_code(err, kind, "InvalidTimeStamp.Expired")


def test_emulator_clock_skew_setting_accepts_matching_client_clock(skewed_emulator, kind, monkeypatch):
    client_class(kind).pin_timestamp(monkeypatch, iso(dt.timedelta(minutes=-30)))
    body = skewed_emulator.client(kind).get("op_interop_skewed")
    assert body["Data"]["OperationId"] == "op_interop_skewed", body
