"""The benchmark of SPEC §7, driven by scripts/bench (which builds what it needs first).

Starts bpstudio-emulator on loopback, then runs side by side, round after round (so that all
three see the same machine load):

  - `bpstudio-op get ID` (the release build),
  - `curl` sending a request pre-signed by the library's signer (examples/presign.rs, one
    fresh nonce per request, all signed before the first run),
  - a Python script on Alibaba's official SDK making the same call (bench/sdk_get.py).

Each run is a whole process: wall time from spawn to exit; peak resident memory from a second
run of the same command under GNU time (/usr/bin/time -f %M). Every answer is checked (exit 0 and the operation's status in the
output). Then `watch` of 100 ids (scripts/bench-watch, when it is there) and the size of the
stripped release binary. Prints one Markdown table; nothing is asserted.

    python3 bench/bench.py --runs 20 --watch-seconds 60
"""
import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY_ID = "LTAIBenchAccessKeyId0001"
KEY_SECRET = "BenchAccessKeySecretNotARealOne01"
OPERATION_ID = "op_bench00000000000001_ecs_modifyInstanceType_BENCHRUNNING0001_BPSTUDIOEMULATOR"
EXPECTED = "RUNNING"
MiB = 1024 * 1024
GNU_TIME = "/usr/bin/time"


def run_checked(argv, env, expect):
    """Runs argv once and returns its wall time in seconds; fails loudly on a wrong answer."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    wall = time.perf_counter() - start
    if done.returncode != 0 or expect.encode() not in done.stdout:
        sys.exit(f"bench: {argv[-1] if argv[0] == GNU_TIME else argv[0]} gave a wrong answer "
                 f"(exit {done.returncode}):\n{done.stdout.decode(errors='replace')[:500]}\n"
                 f"{done.stderr.decode(errors='replace')[:500]}")
    return wall


def peak_rss(argv, env, expect):
    """Peak resident memory of argv in bytes, from GNU time (ru_maxrss of its child).

    Not from wait4 here: a child spawned by this Python process inherits Python's own
    high-water mark across exec (vfork shares its memory), so every program would look like
    15 MB. GNU time is a small C program, so its child starts small."""
    with tempfile.NamedTemporaryFile("r") as out:
        run_checked([GNU_TIME, "-f", "%M", "-o", out.name, *argv], env, expect)
        return int(out.read().split()[-1]) * 1024


def start_emulator(emulator, scenario):
    proc = subprocess.Popen([emulator, "--port", "0", "--scenario", scenario],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    m = re.match(r"listening on (http://127\.0\.0\.1:\d+)", line)
    if not m:
        proc.kill()
        sys.exit(f"bench: the emulator did not start: {line!r}")
    return proc, m.group(1)


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), {mem} RAM, {platform.system()} {platform.release()}"


def watch_rows(seconds):
    """Runs scripts/bench-watch (owned by the wait/watch work) and reads its two reports."""
    script = os.path.join(ROOT, "scripts", "bench-watch")
    if not os.path.exists(script):
        return [("`watch` 100 ids", "not measured: scripts/bench-watch is missing", "", "", "")], ""
    env = dict(os.environ, BENCH_SECONDS=str(seconds))
    done = subprocess.run([script], env=env, capture_output=True, text=True, cwd=ROOT)
    text = done.stdout + done.stderr
    rows = []
    runs = re.findall(r"^(\S.*?)\s+wall\s+([\d.]+) s\s+cpu\s+([\d.]+) s.*?=\s*([\d.]+) % of wall.*\n"
                      r"\s+(\d+) requests[;,] at most (\d+) in flight \(--concurrency (\d+)\)",
                      text, re.M)
    for name, wall, cpu, share, requests, peak, conc in runs:
        share = float(share)
        rows.append((f"`watch` 100 ids, {name}",
                     f"{share:.2f} % CPU of {float(wall):.0f} s wall ({float(cpu):.2f} s)",
                     f"{requests} requests, ≤ {peak} in flight",
                     f"≤ 1 % CPU; ≤ {conc} in flight",
                     "met" if share <= 1.0 and int(peak) <= int(conc) else "NOT met"))
    if not rows:
        rows.append(("`watch` 100 ids", "scripts/bench-watch gave no report (below)", "", "", ""))
        return rows, text
    return rows, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--watch-seconds", type=int, default=60, help="0 skips the watch runs")
    ap.add_argument("--target-dir", default=os.path.join(ROOT, "target"))
    args = ap.parse_args()

    release = os.path.join(args.target_dir, "release")
    tool = os.path.join(release, "bpstudio-op")
    emulator = os.path.join(release, "bpstudio-emulator")
    presign = os.path.join(args.target_dir, "debug", "examples", "presign")
    python = os.path.join(ROOT, ".venv", "bin", "python")
    sdk_script = os.path.join(ROOT, "bench", "sdk_get.py")
    curl = "curl"

    home = tempfile.mkdtemp(prefix="bpstudio-op-bench.")
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(("ALIBABA_CLOUD_", "BPSTUDIO_OP_")) or k.lower().endswith("_proxy"))}
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
               BPSTUDIO_OP_CONFIG=os.path.join(home, "none.toml"),
               ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
               ALIBABA_CLOUD_ACCESS_KEY_ID=KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET=KEY_SECRET)

    emu, url = start_emulator(emulator, os.path.join(ROOT, "bench", "scenario.toml"))
    try:
        host_port = url.removeprefix("http://")
        total = args.runs + args.warmup
        # Two requests per round for curl: one timed, one under GNU time for its memory.
        signed = subprocess.run([presign, url, OPERATION_ID, str(2 * total)], env=env, check=True,
                                capture_output=True, text=True).stdout.splitlines()
        contenders = {
            "bpstudio-op": lambda i: [tool, "--endpoint", url, "get", OPERATION_ID],
            "curl": lambda i: [curl, "-sS", "-X", "POST",
                               "-H", "content-type: application/x-www-form-urlencoded",
                               "--data-binary", signed[i].split("\t")[1], signed[i].split("\t")[0]],
            "sdk": lambda i: [python, sdk_script, host_port, OPERATION_ID],
        }
        samples = {name: [] for name in contenders}
        order = list(contenders)
        for i in range(total):
            for name in order[i % 3:] + order[:i % 3]:  # rotate who goes first
                wall = run_checked(contenders[name](2 * i), env, EXPECTED)
                rss = peak_rss(contenders[name](2 * i + 1), env, EXPECTED)
                if i >= args.warmup:
                    samples[name].append((wall, rss))
    finally:
        emu.terminate()
        emu.wait()

    med = {name: (statistics.median(w for w, _ in s), statistics.median(r for _, r in s),
                  max(r for _, r in s)) for name, s in samples.items()}
    tool_wall, tool_rss, tool_rss_max = med["bpstudio-op"]
    curl_wall, curl_rss, _ = med["curl"]
    sdk_wall, sdk_rss, _ = med["sdk"]
    size = os.path.getsize(tool)
    libs = subprocess.run(["ldd", tool], capture_output=True, text=True).stdout
    libs = ", ".join(sorted({l.split()[0] for l in libs.splitlines() if l.strip()
                             and "vdso" not in l and "ld-linux" not in l})) or "none"

    rows = [
        ("`bpstudio-op get` (release)", f"{tool_wall * 1000:.1f} ms", f"{tool_rss / MiB:.1f} MB", "", ""),
        ("`curl`, pre-signed request", f"{curl_wall * 1000:.1f} ms", f"{curl_rss / MiB:.1f} MB", "", ""),
        ("official Python SDK script", f"{sdk_wall * 1000:.0f} ms", f"{sdk_rss / MiB:.1f} MB", "", ""),
        ("get vs SDK (SDK time ÷ ours)", f"{sdk_wall / tool_wall:.0f}× faster", "", "≥ 40×",
         "met" if sdk_wall / tool_wall >= 40 else "NOT met"),
        ("get vs curl (our time ÷ curl's)", f"{tool_wall / curl_wall:.2f}×", "", "≤ 1.3×",
         "met" if tool_wall / curl_wall <= 1.3 else "NOT met"),
        ("peak RSS of get (median / max)", f"{tool_rss / MiB:.1f} / {tool_rss_max / MiB:.1f} MB", "",
         "≤ 12 MB", "met" if tool_rss_max <= 12 * MiB else "NOT met"),
    ]
    watch_text = ""
    if args.watch_seconds > 0:
        more, watch_text = watch_rows(args.watch_seconds)
        rows += more
    rows.append(("release binary, stripped", f"{size / MiB:.2f} MB ({size} bytes)",
                 f"links {libs}", "≤ 8 MB", "met" if size <= 8 * MiB else "NOT met"))

    print(f"bpstudio-op benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"machine: {machine()}")
    print(f"get: {args.runs} runs each after {args.warmup} warm-up, interleaved, medians; "
          f"emulator on loopback; curl {subprocess.run([curl, '--version'], capture_output=True, text=True).stdout.split()[1]}, "
          f"Python {subprocess.run([python, '-V'], capture_output=True, text=True).stdout.split()[1]}")
    print()
    print("| what | measured | also | budget (SPEC §7) | verdict |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if watch_text:
        print("\nscripts/bench-watch said:\n" + watch_text)


if __name__ == "__main__":
    main()
