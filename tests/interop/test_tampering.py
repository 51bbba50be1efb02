"""Requests changed after signing must be refused; changes that do not alter what is signed
must not be. The tea client signs; a hook then edits the request before it goes out."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest

from sdk_clients import ApiError, tamper_tea_requests

OP_ID = "op with space*~+/=&é中"
OTHER_ID = "op-é-accent"
TEA_KINDS = ["tea-v3", "tea-v1"]


def swap_operation_id(request):
    body = request.body if isinstance(request.body, str) else request.body.decode()
    new = body.replace(quote(OP_ID, safe="~").replace("%20", "+"), quote(OTHER_ID, safe="~"))
    assert new != body, body
    request.body = new


@pytest.mark.parametrize("kind", TEA_KINDS)
def test_body_changed_after_signing_is_refused(emulator, kind, monkeypatch):
    tamper_tea_requests(monkeypatch, swap_operation_id)
    with pytest.raises(ApiError) as ei:
        emulator.client(kind).get(OP_ID)
    assert ei.value.code == "SignatureDoesNotMatch", ei.value
    assert ei.value.status == 400


def test_v3_body_and_its_hash_changed_after_signing_is_refused(emulator, monkeypatch):
    """x-acs-content-sha256 is a signed header: fixing it up for the new body does not help."""
    def edit(request):
        swap_operation_id(request)
        request.headers["x-acs-content-sha256"] = hashlib.sha256(request.body.encode()).hexdigest()

    tamper_tea_requests(monkeypatch, edit)
    with pytest.raises(ApiError) as ei:
        emulator.client("tea-v3").get(OP_ID)
    assert ei.value.code == "SignatureDoesNotMatch", ei.value


# (not `host`: tea-openapi builds the URL from that header, so changing it changes the server)
@pytest.mark.parametrize("header", ["x-acs-signature-nonce", "x-acs-date", "x-acs-credentials-provider", "user-agent"])
def test_v3_signed_header_changed_after_signing_is_refused(emulator, monkeypatch, header):
    def edit(request):
        value = request.headers[header]
        if header == "x-acs-date":          # one second later: still inside the window
            value = value[:-3] + ("%02dZ" % ((int(value[-3:-1]) + 1) % 60))
        else:
            value = value + "0"
        request.headers[header] = value

    tamper_tea_requests(monkeypatch, edit)
    with pytest.raises(ApiError) as ei:
        emulator.client("tea-v3").get(OP_ID)
    assert ei.value.code == "SignatureDoesNotMatch", ei.value


def test_v1_query_changed_after_signing_is_refused(emulator, monkeypatch):
    def edit(request):
        request.query["SignatureNonce"] = request.query["SignatureNonce"] + "0"

    tamper_tea_requests(monkeypatch, edit)
    with pytest.raises(ApiError) as ei:
        emulator.client("tea-v1").get(OP_ID)
    assert ei.value.code == "SignatureDoesNotMatch", ei.value


@pytest.mark.parametrize("kind", TEA_KINDS)
def test_parameter_order_does_not_matter(emulator, kind, monkeypatch):
    """Reversing the order of the query parameters and of the form fields changes nothing
    that is signed: the server sorts."""
    def edit(request):
        assert len(request.query) >= 3, request.query
        request.query = dict(reversed(list(request.query.items())))
        if kind == "tea-v1":
            body = request.body if isinstance(request.body, str) else request.body.decode()
            request.body = "&".join(reversed(body.split("&")))

    tamper_tea_requests(monkeypatch, edit)
    client = emulator.client(kind, extra_query={"InteropA": "1", "InteropB": "two *", "InteropC": "é"})
    body = client.get(OP_ID, resource_group_id="rg-acfmzawhxxc6syq")
    assert body["Data"]["OperationId"] == OP_ID, body


def test_v3_unsigned_extra_header_is_ignored(emulator, monkeypatch):
    def edit(request):
        request.headers["x-interop-unsigned"] = "anything"

    tamper_tea_requests(monkeypatch, edit)
    body = emulator.client("tea-v3").get(OP_ID)
    assert body["Data"]["OperationId"] == OP_ID, body
