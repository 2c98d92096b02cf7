"""HTTP API speed: POST .../evaluate through a real `workbench serve` (uvicorn with its standard extras), from a
second process, against a bare FastAPI app on the same uvicorn evaluating the same cases with the same compiled
ruleset and checked `evaluate` (bare_api.py): the least an app offering this evaluation must do.

The client is a thread pool in a subprocess, one keep-alive http.client connection per thread, cycling
through the shipped vignettes' answers. The measure that matters is the server's CPU per request (user + system
time of the server process, read from /proc before and after), not latency, which the client's threads share.
Rounds are interleaved: bare, workbench, bare, workbench... Goals (issue 23): evaluate <= 1.2x the bare app's server
CPU per request at concurrency 16; a 304 (GET of a release with a matching If-None-Match) cheaper than a 200 of the
same release.

    .venv/bin/python bench/bench_api.py [--requests 2000] [--threads 16]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RULESET = REPO / "rulesets" / "upper-back-pain"


def client(port: int, path: str, bodies: list[bytes], requests: int, threads: int,
           headers: dict[str, str] | None = None) -> dict[str, float]:
    """Runs in the second process: `requests` calls over `threads` keep-alive connections."""
    per_thread = [requests // threads + (i < requests % threads) for i in range(threads)]

    def work(index: int) -> tuple[list[float], int]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors = [], 0
        for n in range(per_thread[index]):
            body = bodies[(index + n * threads) % len(bodies)] if bodies else None
            started = time.perf_counter()
            connection.request("POST" if body else "GET", path, body=body,
                               headers={"Content-Type": "application/json"} if body else dict(headers or {}))
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            errors += response.status not in (200, 304)
        connection.close()
        return latencies, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(work, range(threads)))
    elapsed = time.perf_counter() - started
    latencies = sorted(x for lat, _ in results for x in lat)
    return {"requests": len(latencies), "errors": sum(e for _, e in results), "seconds": elapsed,
            "rps": len(latencies) / elapsed, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]}


def make_release(root: Path) -> tuple[str, str, Path]:
    """A release signed by a key made for the run, and the keyring that trusts it, under `root`."""
    from workbench import load_ruleset
    from workbench.publish.releases import unsigned_document
    from workbench.publish.signing import create_key, trust

    model = load_ruleset(RULESET / "ruleset.yaml").model
    document = unsigned_document(model, {"author": "bench", "approver": "bench-approver",
                                         "released_at": "2025-01-01T00:00:00Z", "reason": "benchmark",
                                         "replay": {"total": 0, "passed": 0, "failed": 0}, "vignettes": {}})
    data = document
    _, key = create_key("bench-approver", None, root / ".keys")
    trust("bench-approver", key.key.public_key(), root / ".keys" / "keyring.json")
    path = root / data["id"] / "releases" / f"{data['version']}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(key.sign(document)), encoding="utf-8")
    return data["id"], data["version"], path


def case_bodies() -> list[bytes]:
    from workbench import load_ruleset
    from workbench.run.replay import load_vignettes, vignette_paths

    ruleset = load_ruleset(RULESET / "ruleset.yaml")
    return [json.dumps({"inputs": vignette.inputs}).encode() for report in
            load_vignettes(vignette_paths(RULESET), ruleset) for vignette in report.model.vignettes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_client(port: int, path: str, bodies: list[bytes], requests: int, threads: int,
               headers: dict[str, str] | None = None) -> dict[str, float]:
    """The client in its own process, so it does not share a GIL with the server or this script."""
    spec = json.dumps({"port": port, "path": path, "bodies": [b.decode() for b in bodies], "requests": requests,
                       "threads": threads, "headers": headers or {}})
    done = subprocess.run([sys.executable, __file__, "--client"], input=spec, capture_output=True, text=True,
                          timeout=600, check=True)
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        spec = json.load(sys.stdin)
        print(json.dumps(client(spec["port"], spec["path"], [b.encode() for b in spec["bodies"]],
                                spec["requests"], spec["threads"], spec["headers"])))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        ruleset_id, version, release_file = make_release(Path(tmp))
        bodies = case_bodies()
        path = f"/rulesets/{ruleset_id}/versions/{version}/evaluate"
        document = f"/rulesets/{ruleset_id}/versions/{version}"
        keyring = str(Path(tmp) / ".keys" / "keyring.json")
        servers = {"bare FastAPI, evaluate": [sys.executable, str(Path(__file__).with_name("bare_api.py"))],
                   "workbench evaluate": [sys.executable, "-m", "workbench.cli", "serve", "--rulesets", tmp,
                                          "--log-level", "warning", "--keyring", keyring, "--port"]}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in [*servers, "workbench 200", "workbench 304"]}
        for _ in range(args.rounds):
            for name, command in servers.items():
                port = free_port()
                extra = [str(release_file)] if name.startswith("bare") else []
                server = subprocess.Popen([*command, str(port), *extra], cwd=REPO, stdout=subprocess.DEVNULL)
                try:
                    wait_until_up(port, server)
                    run_client(port, path, bodies, min(200, args.requests), args.threads)  # warm up
                    before = cpu_seconds(server.pid)
                    result = run_client(port, path, bodies, args.requests, args.threads)
                    result["cpu_us"] = (cpu_seconds(server.pid) - before) / result["requests"] * 1e6
                    results[name].append(result)
                    if name.startswith("workbench"):
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}{document}") as response:
                            etag = response.headers["ETag"]
                        for label, headers in (("workbench 200", {}), ("workbench 304", {"If-None-Match": etag})):
                            before = cpu_seconds(server.pid)
                            result = run_client(port, document, [], args.requests, args.threads, headers)
                            result["cpu_us"] = (cpu_seconds(server.pid) - before) / result["requests"] * 1e6
                            results[label].append(result)
                finally:
                    server.terminate()
                    server.wait(10)

    print(f"uvicorn[standard], 1 worker; client: {args.threads} keep-alive connections in a second process; "
          f"{len(bodies)} vignette cases cycled; median of {args.rounds} interleaved rounds")
    median = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for name, runs in results.items()}
    for name, result in median.items():
        print(f"{name:24} {result['requests']:6.0f} requests, {result['errors']:.0f} errors, "
              f"server CPU {result['cpu_us']:7.1f} us/request, {result['rps']:7.0f} req/s, "
              f"p50 {result['p50_ms']:6.2f} ms, p99 {result['p99_ms']:6.2f} ms")
    bare, ours = median["bare FastAPI, evaluate"], median["workbench evaluate"]
    ratio = ours["cpu_us"] / bare["cpu_us"]
    print(f"evaluate / bare app evaluating: {ratio:.2f}x server CPU per request at concurrency {args.threads} "
          f"(goal 1.2x) {'met' if ratio <= 1.2 else 'NOT MET'}")
    cached = median["workbench 304"]["cpu_us"] / median["workbench 200"]["cpu_us"]
    print(f"304 / 200 of a release: {cached:.2f}x server CPU per request (goal: below 1x, cheaper) "
          f"{'met' if cached < 1 else 'NOT MET'}")
    return 1 if any(r["errors"] for runs in results.values() for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
