"""The emulator's credential doors with Alibaba's official ``alibabacloud-credentials``
providers as clients: STS ``AssumeRole`` (signed) and ``AssumeRoleWithOIDC`` (anonymous), the
ECS metadata service (IMDSv2 token required), the credentials URI, and the aliyun CLI's
``config.json``. What they hand out signs BPStudio calls with every official client until it
expires (``InvalidSecurityToken.Expired`` after). Then ``bpstudio-op`` is given the same
environment and the same aliyun CLI profile, and must get the same kind of credentials.

The providers hard-code the real hosts over https (``sts.aliyuncs.com``, ``100.100.100.200``);
``TeaCore.do_action`` is wrapped for the duration of each test to send any request whose host
is not loopback to the emulator instead (V1 does not sign the host). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from Tea.core import TeaCore

from alibabacloud_credentials.provider import (
    CLIProfileCredentialsProvider,
    DefaultCredentialsProvider,
    EcsRamRoleCredentialsProvider,
    OIDCRoleArnCredentialsProvider,
    RamRoleArnCredentialsProvider,
    StaticAKCredentialsProvider,
    URLCredentialsProvider,
)
from alibabacloud_credentials.utils import auth_util

from conftest import AK, Emulator, emulator_binary, load_scenario
from sdk_clients import ApiError, Credentials

SCENARIO = load_scenario("credentials.toml")
ROLE = SCENARIO["roles"][0]["role_arn"]
PROVIDER = SCENARIO["roles"][0]["oidc_provider_arn"]
OIDC_TOKEN = SCENARIO["roles"][0]["oidc_token"]
SHORT_ROLE = SCENARIO["roles"][1]["role_arn"]
ECS_ROLE = SCENARIO["imds"]["role_name"]
OP_ID = SCENARIO["operations"][0]["id"]


@pytest.fixture(scope="module")
def doors(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("emulator-credentials"), "credentials.toml").start()
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def to_emulator(monkeypatch, request):
    """Routes the providers' requests for real hosts to the emulator of the test."""
    if "doors" not in request.fixturenames:
        return
    emu = request.getfixturevalue("doors")
    original = TeaCore.do_action

    def redirected(tea_request, runtime_option=None):
        host = tea_request.headers.get("host", "")
        if not (host.startswith("127.0.0.1") or host.startswith("localhost")):
            tea_request.protocol = "http"
            tea_request.port = emu.port
            tea_request.headers["host"] = "127.0.0.1"
        return original(tea_request, runtime_option)

    monkeypatch.setattr(TeaCore, "do_action", redirected)


def log(emu: Emulator) -> list[dict]:
    with open(emu.log_path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def last(emu: Emulator, action: str) -> dict:
    found = [r for r in log(emu) if r.get("action") == action]
    assert found, f"no {action} in the emulator's log"
    return found[-1]


def as_creds(c) -> Credentials:
    return Credentials(c.get_access_key_id(), c.get_access_key_secret(), c.get_security_token())


def assert_issued(c) -> None:
    assert c.get_access_key_id().startswith("STS.NEmu"), c.get_access_key_id()
    assert c.get_access_key_secret()
    assert c.get_security_token()


def token_file(tmp_path: Path, token: str = OIDC_TOKEN) -> str:
    path = tmp_path / "oidc-token"
    path.write_text(token)
    return str(path)


def ram_role(role: str = ROLE, **kw) -> RamRoleArnCredentialsProvider:
    source = StaticAKCredentialsProvider(access_key_id=AK.access_key_id, access_key_secret=AK.access_key_secret)
    return RamRoleArnCredentialsProvider(credentials_provider=source, role_arn=role, **kw)


# --- STS ---------------------------------------------------------------------------------------


def test_assume_role_is_signed_with_the_source_key(doors):
    c = ram_role(role_session_name="interop", duration_seconds=900, external_id="ext-1").get_credentials()
    assert_issued(c)
    rec = last(doors, "AssumeRole")
    assert rec["verdict"] == "ok"
    assert rec["access_key_id"] == AK.access_key_id
    assert rec["signature_version"] == "v1"
    assert rec["params"]["Version"] == "2015-04-01"
    assert rec["params"]["RoleSessionName"] == "interop"
    assert rec["params"]["DurationSeconds"] == "900"


def test_assume_role_with_oidc_is_anonymous(doors, tmp_path):
    c = OIDCRoleArnCredentialsProvider(role_arn=ROLE, oidc_provider_arn=PROVIDER,
                                       oidc_token_file_path=token_file(tmp_path),
                                       role_session_name="ci").get_credentials()
    assert_issued(c)
    rec = last(doors, "AssumeRoleWithOIDC")
    assert rec["verdict"] == "ok"
    assert rec["signature_version"] is None
    assert rec["params"]["OIDCToken"] == OIDC_TOKEN


@pytest.mark.parametrize("case, code", [
    ("unknown role", "EntityNotExist.Role"),
    ("short session", "InvalidParameter.DurationSeconds"),
])
def test_assume_role_refusals_carry_the_sts_code(doors, case, code):
    provider = (ram_role("acs:ram::1000000000000001:role/nope", role_session_name="x")
                if case == "unknown role" else ram_role(role_session_name="x"))
    if case == "short session":
        # The SDK checks the 900 s floor itself; ask the emulator directly through a provider
        # built with a valid value, then lowered.
        provider._duration_seconds = 600
    with pytest.raises(Exception) as e:
        provider.get_credentials()
    assert code in str(e.value)
    assert last(doors, "AssumeRole")["verdict"] == code


@pytest.mark.parametrize("provider_arn, token, code", [
    (PROVIDER, "eyJ.wrong.token", "AuthenticationFail.OIDCToken.Invalid"),
    ("acs:ram::1000000000000001:oidc-provider/other", OIDC_TOKEN, "EntityNotExist.OIDCProvider"),
])
def test_assume_role_with_oidc_refusals(doors, tmp_path, provider_arn, token, code):
    provider = OIDCRoleArnCredentialsProvider(role_arn=ROLE, oidc_provider_arn=provider_arn,
                                              oidc_token_file_path=token_file(tmp_path, token),
                                              role_session_name="ci")
    with pytest.raises(Exception) as e:
        provider.get_credentials()
    assert code in str(e.value)
    assert last(doors, "AssumeRoleWithOIDC")["verdict"] == code


# --- ECS metadata and credentials URI ------------------------------------------------------------


def test_ecs_ram_role_over_imdsv2_discovers_the_role(doors):
    before = len(log(doors))
    c = EcsRamRoleCredentialsProvider(async_update_enabled=False).get_credentials()
    assert_issued(c)
    new = [(r["action"], r["verdict"]) for r in log(doors)[before:]]
    assert ("MetadataToken", "ok") in new
    assert ("MetadataRoleName", "ok") in new
    assert ("MetadataCredentials", "ok") in new
    creds = [r for r in log(doors)[before:] if r["action"] == "MetadataCredentials"]
    assert all(r["verdict"] == "ok" for r in creds), new


def test_ecs_ram_role_without_token_is_refused_when_imdsv2_is_required(doors, monkeypatch):
    # IMDSv1 only: the token request fails, so the provider goes on without a token.
    original = TeaCore.do_action

    def no_token_door(tea_request, runtime_option=None):
        if tea_request.method == "PUT":
            raise ConnectionError("token door closed for this test")
        return original(tea_request, runtime_option)

    monkeypatch.setattr(TeaCore, "do_action", no_token_door)
    with pytest.raises(Exception) as e:
        EcsRamRoleCredentialsProvider(role_name=ECS_ROLE, async_update_enabled=False).get_credentials()
    assert "401" in str(e.value)
    assert last(doors, "MetadataCredentials")["verdict"] == "Unauthorized"


def test_ecs_ram_role_of_another_name_is_not_found(doors):
    before = len(log(doors))
    with pytest.raises(Exception):
        EcsRamRoleCredentialsProvider(role_name="OtherRole", async_update_enabled=False).get_credentials()
    # 404 with the token; the SDK then retries without one (IMDSv1), which this instance refuses.
    verdicts = [r["verdict"] for r in log(doors)[before:] if r["action"] == "MetadataCredentials"]
    assert verdicts[:2] == ["NotFound", "Unauthorized"], verdicts


def test_credentials_uri(doors):
    c = URLCredentialsProvider(uri=f"{doors.url}/credentials").get_credentials()
    assert_issued(c)
    assert last(doors, "CredentialsURI")["verdict"] == "ok"


# --- What they hand out signs BPStudio calls, until it expires ------------------------------------


@pytest.fixture
def issued(doors, tmp_path):
    return {
        "AssumeRole": ram_role(role_session_name="use").get_credentials(),
        "AssumeRoleWithOIDC": OIDCRoleArnCredentialsProvider(
            role_arn=ROLE, oidc_provider_arn=PROVIDER, oidc_token_file_path=token_file(tmp_path),
            role_session_name="use").get_credentials(),
        "EcsRamRole": EcsRamRoleCredentialsProvider(async_update_enabled=False).get_credentials(),
        "CredentialsURI": URLCredentialsProvider(uri=f"{doors.url}/credentials").get_credentials(),
    }


def test_issued_credentials_sign_bpstudio_calls_with_every_client(doors, issued, kind):
    for source, c in issued.items():
        body = doors.client(kind, as_creds(c)).get(OP_ID)
        assert body["Data"]["Status"] == "SUCCESS", (source, body)
        rec = last(doors, "GetExecuteOperationResult")
        assert rec["verdict"] == "ok" and rec["access_key_id"] == c.get_access_key_id(), (source, rec)


def test_very_short_lived_credentials_expire(doors, kind):
    c = ram_role(SHORT_ROLE, role_session_name="short", duration_seconds=900).get_credentials()
    client = doors.client(kind, as_creds(c))
    assert client.get(OP_ID)["Data"]["Status"] == "SUCCESS"
    time.sleep(3)
    with pytest.raises(ApiError) as e:
        client.get(OP_ID)
    assert e.value.code == "InvalidSecurityToken.Expired"


# --- The same environment and aliyun CLI profile for the official chain and for bpstudio-op -------


def bpstudio_op(doors: Emulator, home: Path, env: dict) -> subprocess.CompletedProcess:
    binary = Path(emulator_binary()).parent / "bpstudio-op"
    if not binary.is_file():
        pytest.fail(f"{binary} not found: build it with `cargo build --workspace`", pytrace=False)
    full = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "BPSTUDIO_OP_ENDPOINT": doors.url,
        "ALIBABA_CLOUD_STS_ENDPOINT": doors.url,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        **env,
    }
    return subprocess.run([str(binary), "-o", "json", "get", OP_ID], env=full, capture_output=True,
                          text=True, timeout=30)


def test_oidc_environment_of_a_ci_job_works_for_both(doors, tmp_path, monkeypatch):
    env = {
        "ALIBABA_CLOUD_ROLE_ARN": ROLE,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": PROVIDER,
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": token_file(tmp_path),
        "ALIBABA_CLOUD_ROLE_SESSION_NAME": "gha-run-1",
    }
    # The official default chain reads these variables at import: set what it read.
    for name, attr in [("ALIBABA_CLOUD_ROLE_ARN", "environment_role_arn"),
                       ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "environment_oidc_provider_arn"),
                       ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "environment_oidc_token_file"),
                       ("ALIBABA_CLOUD_ROLE_SESSION_NAME", "environment_role_session_name")]:
        monkeypatch.setattr(auth_util, attr, env[name])
    monkeypatch.setattr(auth_util, "enable_oidc_credential", True)
    monkeypatch.setattr(auth_util, "environment_ecs_metadata_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_cli_profile_disabled", "true")
    monkeypatch.setenv("HOME", str(tmp_path))
    c = DefaultCredentialsProvider().get_credentials()
    assert_issued(c)
    assert last(doors, "AssumeRoleWithOIDC")["params"]["RoleSessionName"] == "gha-run-1"

    before = len(log(doors))
    r = bpstudio_op(doors, tmp_path, env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Data"]["Status"] == "SUCCESS"
    new = log(doors)[before:]
    assert [x["action"] for x in new] == ["AssumeRoleWithOIDC", "GetExecuteOperationResult"], new
    assert new[0]["params"]["RoleSessionName"] == "gha-run-1"
    assert new[1]["access_key_id"].startswith("STS.NEmu") and new[1]["verdict"] == "ok"
    assert OIDC_TOKEN not in r.stdout + r.stderr


def test_aliyun_cli_ram_role_profile_works_for_both(doors, tmp_path):
    profile = {
        "name": "deploy", "mode": "RamRoleArn",
        "access_key_id": AK.access_key_id, "access_key_secret": AK.access_key_secret,
        "ram_role_arn": ROLE, "ram_session_name": "cli-session", "expired_seconds": 900,
        "region_id": "cn-hangzhou", "output_format": "json", "language": "en",
    }
    config = tmp_path / ".aliyun" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"current": "deploy", "profiles": [profile], "meta_path": ""}))
    config.chmod(0o600)
    c = CLIProfileCredentialsProvider(profile_name="deploy", profile_file=str(config)).get_credentials()
    assert_issued(c)
    official = last(doors, "AssumeRole")
    assert official["params"]["RoleSessionName"] == "cli-session"

    r = bpstudio_op(doors, tmp_path, {"BPSTUDIO_OP_CREDENTIALS_CACHE": "off"})
    assert r.returncode == 0, r.stderr
    ours = last(doors, "AssumeRole")
    assert ours is not official and ours["verdict"] == "ok"
    for param in ("RoleArn", "RoleSessionName", "DurationSeconds"):
        assert ours["params"][param] == official["params"][param], param
    assert AK.access_key_secret not in r.stdout + r.stderr
