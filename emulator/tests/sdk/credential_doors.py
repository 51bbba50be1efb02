"""Smoke test: the official alibabacloud-credentials providers against bpstudio-emulator's
credential doors (STS AssumeRole / AssumeRoleWithOIDC, ECS metadata, credentials URI), then
the OIDC credentials used with the official BPStudio client.

    bpstudio-emulator --demo            # note the port from the first stdout line
    python emulator/tests/sdk/credential_doors.py <port>

The providers hard-code https and the real hosts; TeaCore.do_action is wrapped to send the
same request to http://127.0.0.1:<port> instead (the signature does not cover the host).
"""

import sys
import tempfile

from Tea.core import TeaCore

PORT = int(sys.argv[1])
_original = TeaCore.do_action


def _to_emulator(request, runtime=None):
    request.protocol = "http"
    request.port = PORT
    request.headers["host"] = "127.0.0.1"
    return _original(request, runtime)


TeaCore.do_action = staticmethod(_to_emulator)

from alibabacloud_credentials.provider import (  # noqa: E402
    EcsRamRoleCredentialsProvider,
    OIDCRoleArnCredentialsProvider,
    RamRoleArnCredentialsProvider,
    StaticAKCredentialsProvider,
    URLCredentialsProvider,
)
from alibabacloud_bpstudio20210931.client import Client  # noqa: E402
from alibabacloud_bpstudio20210931.models import GetExecuteOperationResultRequest  # noqa: E402
from alibabacloud_tea_openapi.models import Config  # noqa: E402

ROLE = "acs:ram::1000000000000001:role/bpstudio-op-demo"
PROVIDER = "acs:ram::1000000000000001:oidc-provider/demo-ci"
SUCCESS_ID = "op_demo00000000000001_ecs_modifyInstanceType_DEMOSUCCESS00001_BPSTUDIOEMULATOR"

source = StaticAKCredentialsProvider(
    access_key_id="LTAIDemoAccessKeyId0001",
    access_key_secret="DemoAccessKeySecretNotARealOne0001",
)
issued = {
    "AssumeRole": RamRoleArnCredentialsProvider(
        credentials_provider=source, role_arn=ROLE, role_session_name="smoke", duration_seconds=900
    ).get_credentials(),
    "EcsRamRole": EcsRamRoleCredentialsProvider().get_credentials(),
    "CredentialsURI": URLCredentialsProvider(uri=f"http://127.0.0.1:{PORT}/credentials").get_credentials(),
}
with tempfile.NamedTemporaryFile("w", suffix=".jwt", delete=False) as token_file:
    token_file.write("eyJ.demo.token")
issued["AssumeRoleWithOIDC"] = OIDCRoleArnCredentialsProvider(
    role_arn=ROLE, oidc_provider_arn=PROVIDER, oidc_token_file_path=token_file.name, role_session_name="oidc"
).get_credentials()

for name, credentials in issued.items():
    assert credentials.get_access_key_id().startswith("STS."), name
    assert credentials.get_security_token(), name
    print(f"{name}: {credentials.get_access_key_id()}")

oidc = issued["AssumeRoleWithOIDC"]
config = Config(
    access_key_id=oidc.get_access_key_id(),
    access_key_secret=oidc.get_access_key_secret(),
    security_token=oidc.get_security_token(),
    endpoint=f"127.0.0.1:{PORT}",
    protocol="http",
)
result = Client(config).get_execute_operation_result(GetExecuteOperationResultRequest(operation_id=SUCCESS_ID))
assert result.body.data.status in ("INIT", "RUNNING", "SUCCESS"), result.body
print(f"GetExecuteOperationResult with OIDC credentials: {result.body.data.status}")
