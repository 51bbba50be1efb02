"""Fixtures: start `bpstudio-emulator` on port 0 with a scenario, hand out SDK clients.

The binary is $BPSTUDIO_EMULATOR, else <repo>/target/debug/bpstudio-emulator
(`cargo build -p bpstudio-emulator`). Nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sdk_clients import CLIENT_KINDS, Credentials, make_client  # noqa: E402

REPO = HERE.parents[1]
SCENARIOS = HERE / "scenarios"
DEFAULT_BINARY = REPO / "target" / "debug" / "bpstudio-emulator"

START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 5
LISTEN_RE = re.compile(r"^listening on http://127\.0\.0\.1:(\d+)$")

# Plain AK pairs given with --access-key ID:SECRET.
AK = Credentials("LTAI5tInteropPlainKey0001", "interopPlainSecret0123456789abcdef")
UNKNOWN_AK = Credentials("LTAI5tInteropUnknownKey99", "interopPlainSecret0123456789abcdef")

# Hermetic: no proxies (darabonba passes $HTTP_PROXY straight to requests, ignoring NO_PROXY),
# no ambient Alibaba Cloud credentials or config.
for _var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
for _var in list(os.environ):
    if _var.startswith("ALIBABA_CLOUD_"):
        os.environ.pop(_var)
os.environ.pop("DEBUG", None)


def emulator_binary() -> Path:
    return Path(os.environ.get("BPSTUDIO_EMULATOR") or DEFAULT_BINARY)


def pytest_sessionstart(session):
    binary = emulator_binary()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.exit(
            f"bpstudio-emulator binary not found or not executable: {binary}\n"
            "Build it with `cargo build -p bpstudio-emulator`, or set BPSTUDIO_EMULATOR=<path>.",
            returncode=1,
        )


def load_scenario(name: str) -> dict:
    with open(SCENARIOS / name, "rb") as f:
        return tomllib.load(f)


class Emulator:
    """One emulator process. `url`, `host_port`, `port` are set once it listens."""

    def __init__(self, workdir: Path, scenario: str | None, access_keys=(AK,)):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.scenario_path = None
        if scenario is not None:
            self.scenario_path = workdir / Path(scenario).name
            shutil.copyfile(SCENARIOS / scenario, self.scenario_path)
        self.log_path = workdir / "requests.jsonl"
        self.stderr_path = workdir / "stderr.txt"
        self.stdout_path = workdir / "stdout.txt"
        self.cmd = [str(emulator_binary()), "--port", "0", "--log", str(self.log_path)]
        for k in access_keys:
            self.cmd += ["--access-key", f"{k.access_key_id}:{k.access_key_secret}"]
        if self.scenario_path:
            self.cmd += ["--scenario", str(self.scenario_path)]
        self.proc = None
        self.port = None

    def start(self) -> "Emulator":
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, cwd=self.workdir)
        line = self._read_first_line()
        m = LISTEN_RE.match(line)
        if not m:
            self.stop()
            pytest.fail(
                f"emulator did not announce itself: first stdout line {line!r} "
                f"(want 'listening on http://127.0.0.1:<port>')\ncmd: {self.cmd}\nstderr:\n{self.stderr()}",
                pytrace=False,
            )
        self.port = int(m.group(1))
        self.host_port = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host_port}"
        # keep draining stdout so the emulator can never block on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _read_first_line(self) -> str:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.stop()
                    pytest.fail(f"emulator printed no line within {START_TIMEOUT_S}s (got {buf!r})\n"
                                f"cmd: {self.cmd}\nstderr:\n{self.stderr()}", pytrace=False)
                if not sel.select(timeout=left):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
                    pytest.fail(f"emulator exited (status {rc}) before listening; stdout {buf!r}\n"
                                f"cmd: {self.cmd}\nstderr:\n{self.stderr()}", pytrace=False)
                buf += chunk
        finally:
            sel.close()
        first, _, rest = buf.partition(b"\n")
        with open(self.stdout_path, "wb") as f:
            f.write(first + b"\n" + rest)
        return first.decode("utf-8", "replace").rstrip("\r")

    def _drain(self):
        try:
            with open(self.stdout_path, "ab") as f:
                while True:
                    chunk = os.read(self.proc.stdout.fileno(), 65536)
                    if not chunk:
                        return
                    f.write(chunk)
                    f.flush()
        except (OSError, ValueError):
            return

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def client(self, kind: str, creds: Credentials = AK, **extra):
        return make_client(kind, self.host_port, creds, **extra)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        if self.proc.stdout:
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        self._stderr.close()
        self.proc = None


@pytest.fixture(scope="session")
def scenario() -> dict:
    return load_scenario("interop.toml")


@pytest.fixture(scope="session")
def sts_creds(scenario) -> Credentials:
    c = next(c for c in scenario["credentials"] if c.get("security_token"))
    return Credentials(c["access_key_id"], c["access_key_secret"], c["security_token"])


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("emulator"), "interop.toml").start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def skewed_emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("emulator-skewed"), "skewed.toml").start()
    yield emu
    emu.stop()


@pytest.fixture(params=CLIENT_KINDS)
def kind(request) -> str:
    return request.param


def pytest_runtest_makereport(item, call):
    """On failure, attach the emulator's stderr tail: the report should show what it said."""
    if call.when == "call" and call.excinfo is not None:
        for name in ("emulator", "skewed_emulator"):
            emu = item.funcargs.get(name) if hasattr(item, "funcargs") else None
            if isinstance(emu, Emulator):
                item.add_report_section("call", f"{name} stderr (tail)", emu.stderr())
