"""Thin adapters over Alibaba Cloud's official Python SDKs, pointed at the local emulator.

Three clients, all unmodified PyPI packages (versions pinned in requirements.txt):

- ``tea-v3``: ``alibabacloud-bpstudio20210931`` on ``alibabacloud-tea-openapi`` in its default
  mode, signature ``ACS3-HMAC-SHA256`` (``Authorization`` header, ``x-acs-*`` headers).
- ``tea-v1``: the same client with ``Config(signature_algorithm='v2')``, which the SDK routes to
  ``do_rpcrequest``: RPC signature ``HMAC-SHA1`` / ``SignatureVersion=1.0`` in the query.
- ``legacy-v1``: ``aliyun-python-sdk-bpstudio`` request classes sent by
  ``aliyun-python-sdk-core``'s ``AcsClient`` (HMAC-SHA1, ``SignatureType=`` included).

Every adapter returns the response body as a plain ``dict`` with the wire names
(``RequestId``, ``Code``, ``Data``...) and turns the SDK's own error into ``ApiError``, keeping
the SDK exception in ``.sdk_exc`` so tests can assert on the SDK's own fields.

Pinning nonce / timestamp is done by monkeypatching the SDK function that produces them:

- tea (V1 and V3): ``alibabacloud_tea_openapi.utils.Utils.get_nonce`` / ``.get_timestamp``
  (V3 puts them in ``x-acs-signature-nonce`` / ``x-acs-date``; V1 in ``SignatureNonce`` /
  ``Timestamp``);
- legacy: ``aliyunsdkcore.utils.parameter_helper.get_uuid`` / ``.get_iso_8061_date``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

CLIENT_KINDS = ("tea-v3", "tea-v1", "legacy-v1")

CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 15


class ApiError(Exception):
    """An error answer from the emulator, as surfaced by the SDK."""

    def __init__(self, code: str, status: Optional[int], message: str, request_id: Optional[str], sdk_exc: BaseException):
        super().__init__(f"{code} (HTTP {status}): {message} [RequestId={request_id}]")
        self.code = code
        self.status = status
        self.message = message or ""
        self.request_id = request_id
        self.sdk_exc = sdk_exc


@dataclass
class Credentials:
    access_key_id: str
    access_key_secret: str
    security_token: Optional[str] = None


EXECUTE_ATTRIBUTES: Dict[str, Any] = {
    "change_type": "modify_status",
    "status": "Stopped",
    "instanceId": "i-interop0000000001",
    "regionId": "cn-hangzhou",
    "appId": "app-interop",
    "note": "web-01 é中 *+/=&~ \"quoted\"",
}


class SdkClient:
    kind: str

    def get(self, operation_id: str, resource_group_id: Optional[str] = None) -> Dict[str, Any]:
        raise NotImplementedError

    def execute_async(self, service_type: str, operation: str, attributes: Dict[str, Any],
                      application_id: Optional[str] = None,
                      resource_group_id: Optional[str] = None) -> Dict[str, Any]:
        raise NotImplementedError

    # -- monkeypatch hooks (pytest's ``monkeypatch`` fixture is passed in) --
    @staticmethod
    def pin_nonce(monkeypatch, value: str) -> None:
        raise NotImplementedError

    @staticmethod
    def pin_timestamp(monkeypatch, iso8601: str) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------- tea-openapi
class TeaClient(SdkClient):
    def __init__(self, kind: str, host_port: str, creds: Credentials,
                 extra_query: Optional[Dict[str, str]] = None, extra_headers: Optional[Dict[str, str]] = None):
        from alibabacloud_bpstudio20210931.client import Client
        from alibabacloud_tea_openapi import models as open_api_models

        assert kind in ("tea-v3", "tea-v1")
        self.kind = kind
        config = open_api_models.Config(
            access_key_id=creds.access_key_id,
            access_key_secret=creds.access_key_secret,
            security_token=creds.security_token,
            endpoint=host_port,          # "127.0.0.1:<port>": becomes the Host header (signed in V3)
            protocol="http",             # overrides the API's protocol='HTTPS'
            region_id="cn-hangzhou",
            connect_timeout=CONNECT_TIMEOUT_S * 1000,
            read_timeout=READ_TIMEOUT_S * 1000,
        )
        if kind == "tea-v1":
            config.signature_algorithm = "v2"   # tea-openapi's name for RPC HMAC-SHA1 (do_rpcrequest)
        if extra_query or extra_headers:
            # The SDK's own way to add query parameters / headers to every request. In V3 every
            # header the tea client sends is signed; in V1 the query parameters are.
            config.global_parameters = open_api_models.GlobalParameters(queries=extra_query, headers=extra_headers)
        self._client = Client(config)

    def _call(self, fn: Callable[[], Any]) -> Dict[str, Any]:
        from Tea.exceptions import TeaException

        try:
            resp = fn()
        except TeaException as e:  # darabonba ResponseException / tea-openapi ClientException...
            code = getattr(e, "code", None)
            if code is None:
                raise
            status = getattr(e, "status_code", None)
            data = getattr(e, "data", None) or {}
            request_id = getattr(e, "request_id", None) or (data.get("RequestId") if isinstance(data, dict) else None)
            message = (data.get("Message") if isinstance(data, dict) else None) or getattr(e, "message", "")
            raise ApiError(str(code), status, message, request_id, e) from e
        assert resp.status_code == 200, resp.status_code
        return resp.body.to_map()

    def get(self, operation_id, resource_group_id=None):
        from alibabacloud_bpstudio20210931 import models

        req = models.GetExecuteOperationResultRequest(operation_id=operation_id, resource_group_id=resource_group_id)
        return self._call(lambda: self._client.get_execute_operation_result(req))

    def execute_async(self, service_type, operation, attributes, application_id=None, resource_group_id=None):
        from alibabacloud_bpstudio20210931 import models

        req = models.ExecuteOperationASyncRequest(
            service_type=service_type, operation=operation, attributes=attributes,
            application_id=application_id, resource_group_id=resource_group_id,
        )
        return self._call(lambda: self._client.execute_operation_async(req))

    @staticmethod
    def pin_nonce(monkeypatch, value):
        from alibabacloud_tea_openapi.utils import Utils

        monkeypatch.setattr(Utils, "get_nonce", staticmethod(lambda: value))

    @staticmethod
    def pin_timestamp(monkeypatch, iso8601):
        from alibabacloud_tea_openapi.utils import Utils

        monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: iso8601))


# --------------------------------------------------------------------------- legacy core
class LegacyClient(SdkClient):
    kind = "legacy-v1"

    def __init__(self, host_port: str, creds: Credentials,
                 extra_query: Optional[Dict[str, str]] = None, extra_headers: Optional[Dict[str, str]] = None):
        from aliyunsdkcore.client import AcsClient

        self._extra_query = dict(extra_query or {})
        self._extra_headers = dict(extra_headers or {})

        host, port = host_port.rsplit(":", 1)
        self._host = host
        common = dict(region_id="cn-hangzhou", port=int(port), auto_retry=False,
                      connect_timeout=CONNECT_TIMEOUT_S, timeout=READ_TIMEOUT_S)
        if creds.security_token:
            from aliyunsdkcore.auth.credentials import StsTokenCredential

            cred = StsTokenCredential(creds.access_key_id, creds.access_key_secret, creds.security_token)
            self._client = AcsClient(credential=cred, **common)
        else:
            self._client = AcsClient(creds.access_key_id, creds.access_key_secret, **common)

    def _send(self, request) -> Dict[str, Any]:
        from aliyunsdkcore.acs_exception.exceptions import ServerException

        # Point the request itself at the emulator: no endpoint resolution, plain HTTP.
        request.set_endpoint(self._host)
        request.set_protocol_type("http")
        for k, v in self._extra_query.items():
            request.add_query_param(k, v)
        for k, v in self._extra_headers.items():
            request.add_header(k, v)
        try:
            body = self._client.do_action_with_exception(request)
        except ServerException as e:
            raise ApiError(e.get_error_code(), e.get_http_status(), e.get_error_msg(), e.get_request_id(), e) from e
        return json.loads(body)

    def get(self, operation_id, resource_group_id=None):
        from aliyunsdkbpstudio.request.v20210931.GetExecuteOperationResultRequest import (
            GetExecuteOperationResultRequest,
        )

        req = GetExecuteOperationResultRequest()
        req.set_OperationId(operation_id)
        if resource_group_id is not None:
            req.set_ResourceGroupId(resource_group_id)
        return self._send(req)

    def execute_async(self, service_type, operation, attributes, application_id=None, resource_group_id=None):
        from aliyunsdkbpstudio.request.v20210931.ExecuteOperationASyncRequest import ExecuteOperationASyncRequest

        req = ExecuteOperationASyncRequest()
        req.set_ServiceType(service_type)
        req.set_Operation(operation)
        req.set_Attributes(json.dumps(attributes, separators=(",", ":")))
        if application_id is not None:
            req.set_ApplicationId(application_id)
        if resource_group_id is not None:
            req.set_ResourceGroupId(resource_group_id)
        return self._send(req)

    @staticmethod
    def pin_nonce(monkeypatch, value):
        from aliyunsdkcore.utils import parameter_helper

        monkeypatch.setattr(parameter_helper, "get_uuid", lambda: value)

    @staticmethod
    def pin_timestamp(monkeypatch, iso8601):
        from aliyunsdkcore.utils import parameter_helper

        monkeypatch.setattr(parameter_helper, "get_iso_8061_date", lambda: iso8601)


def make_client(kind: str, host_port: str, creds: Credentials, **extra) -> SdkClient:
    """``extra``: ``extra_query`` / ``extra_headers`` sent (and, where the protocol says so,
    signed) with every request."""
    if kind in ("tea-v3", "tea-v1"):
        return TeaClient(kind, host_port, creds, **extra)
    if kind == "legacy-v1":
        return LegacyClient(host_port, creds, **extra)
    raise ValueError(kind)


def client_class(kind: str):
    return TeaClient if kind.startswith("tea") else LegacyClient


# ----------------------------------------------------------------- request capture (self-check)
def capture_tea_requests(monkeypatch) -> List[Any]:
    """Record every DaraRequest the tea client sends (headers/query as sent)."""
    from darabonba.core import DaraCore

    sent: List[Any] = []
    real = DaraCore.do_action

    def spy(request, runtime_option=None):
        sent.append({"query": dict(request.query or {}), "headers": dict(request.headers or {}),
                     "body": request.body})
        return real(request, runtime_option)

    monkeypatch.setattr(DaraCore, "do_action", staticmethod(spy))
    return sent


def capture_rpc_string_to_sign(monkeypatch) -> List[str]:
    """For tea-v1: record the string-to-sign of every request, as the SDK signs it.

    tea-openapi only exposes the signed parameters (``Utils.get_rpcsignature``); the string is
    re-derived with aliyun-python-sdk-core's composer (the two are byte-identical, as checked
    when ../shared/vectors was generated).
    """
    from alibabacloud_tea_openapi.utils import Utils
    from aliyunsdkcore.auth.composer import rpc_signature_composer

    compose = getattr(rpc_signature_composer, "__compose_string_to_sign")
    seen: List[str] = []
    real = Utils.get_rpcsignature

    def spy(signed_params, method, secret):
        seen.append(compose(method, {k: v for k, v in signed_params.items() if v is not None}))
        return real(signed_params, method, secret)

    monkeypatch.setattr(Utils, "get_rpcsignature", staticmethod(spy))
    return seen


def capture_v3_string_to_sign(monkeypatch) -> List[str]:
    """For tea-v3: record the ACS3-HMAC-SHA256 string-to-sign of every request.

    Rebuilt from the arguments of ``Utils.get_authorization`` with tea-openapi's own helpers
    (``get_canonical_query_string``, ``get_canonicalized_headers``), exactly as that function
    builds it; the real ``get_authorization`` still produces the header that is sent.
    """
    from alibabacloud_tea_openapi import utils as tea_utils

    Utils = tea_utils.Utils
    seen: List[str] = []
    real = Utils.get_authorization

    def spy(request, sign_type, payload, ak, secret):
        canonical_headers, signed_headers = tea_utils.get_canonicalized_headers(request.headers)
        canonical_request = (f"{request.method}\n{request.pathname or '/'}\n"
                             f"{tea_utils.get_canonical_query_string(request.query)}\n"
                             f"{canonical_headers}\n{signed_headers}\n{payload}")
        digest = Utils.hex_encode(Utils.hash(canonical_request.encode("utf-8"), sign_type))
        seen.append(f"{sign_type}\n{digest}")
        return real(request, sign_type, payload, ak, secret)

    monkeypatch.setattr(Utils, "get_authorization", staticmethod(spy))
    return seen


def tamper_tea_requests(monkeypatch, edit: Callable[[Any], None]) -> None:
    """Let ``edit(request)`` change each tea request AFTER the SDK signed it, before it is sent
    (``request.query`` / ``.headers`` dicts, ``.body`` form string)."""
    from darabonba.core import DaraCore

    real = DaraCore.do_action

    def spy(request, runtime_option=None):
        edit(request)
        return real(request, runtime_option)

    monkeypatch.setattr(DaraCore, "do_action", staticmethod(spy))
