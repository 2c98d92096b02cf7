"""HTTP API speed: POST .../evaluate through a real `workbench serve` (uvicorn), from a second process.

The client is a thread pool in a subprocess, one keep-alive http.client connection per thread, cycling
through the shipped vignettes' answers. GET /healthz with the same client is the baseline: what the HTTP
stack costs before any ruleset work. Prints requests per second and p50/p99 latency; stops by itself.

    .venv/bin/python bench/bench_api.py [--requests 2000] [--threads 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
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


def client(port: int, path: str, bodies: list[bytes], requests: int, threads: int) -> dict[str, float]:
    """Runs in the second process: `requests` calls over `threads` keep-alive connections."""
    per_thread = [requests // threads + (i < requests % threads) for i in range(threads)]

    def work(index: int) -> tuple[list[float], int]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors = [], 0
        for n in range(per_thread[index]):
            body = bodies[(index + n * threads) % len(bodies)] if bodies else None
            started = time.perf_counter()
            connection.request("POST" if body else "GET", path, body=body,
                               headers={"Content-Type": "application/json"} if body else {})
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            errors += response.status != 200
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


def make_release(root: Path) -> tuple[str, str]:
    from workbench import load_ruleset
    from workbench.publish.canonical import ruleset_data, sha256_hex

    data = ruleset_data(load_ruleset(RULESET / "ruleset.yaml").model)
    document = {"id": data["id"], "version": data["version"], "sha256": sha256_hex(data), "ruleset": data,
                "release": {"author": "bench", "approver": "bench-approver", "released_at": "2025-01-01T00:00:00Z",
                            "reason": "benchmark", "replay": {"total": 0, "passed": 0, "failed": 0}}}
    path = root / data["id"] / "releases" / f"{data['version']}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return data["id"], data["version"]


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


def run_client(port: int, path: str, bodies: list[bytes], requests: int, threads: int) -> dict[str, float]:
    """The client in its own process, so it does not share a GIL with the server or this script."""
    spec = json.dumps({"port": port, "path": path, "bodies": [b.decode() for b in bodies], "requests": requests,
                       "threads": threads})
    done = subprocess.run([sys.executable, __file__, "--client"], input=spec, capture_output=True, text=True,
                          timeout=600, check=True)
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        spec = json.load(sys.stdin)
        print(json.dumps(client(spec["port"], spec["path"], [b.encode() for b in spec["bodies"]],
                                spec["requests"], spec["threads"])))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        ruleset_id, version = make_release(Path(tmp))
        bodies = case_bodies()
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "workbench.cli", "serve", "--port", str(port),
                                   "--rulesets", tmp, "--log-level", "warning"], cwd=REPO,
                                  stdout=subprocess.DEVNULL)
        try:
            wait_until_up(port, server)
            path = f"/rulesets/{ruleset_id}/versions/{version}/evaluate"
            run_client(port, path, bodies, min(200, args.requests), args.threads)  # warm up
            baseline = run_client(port, "/healthz", [], args.requests, args.threads)
            measured = run_client(port, path, bodies, args.requests, args.threads)
        finally:
            server.terminate()
            server.wait(10)

    print(f"uvicorn, 1 worker; client: {args.threads} keep-alive connections in a second process; "
          f"{len(bodies)} vignette cases cycled")
    for name, result in (("GET /healthz (baseline)", baseline), ("POST .../evaluate", measured)):
        print(f"{name:26} {result['requests']:6} requests, {result['errors']} errors, {result['rps']:8.0f} req/s, "
              f"p50 {result['p50_ms']:6.2f} ms, p99 {result['p99_ms']:6.2f} ms")
    print(f"evaluate / baseline: {measured['p50_ms'] / baseline['p50_ms']:.2f}x p50 latency, "
          f"{baseline['rps'] / measured['rps']:.2f}x throughput cost")
    return 1 if measured["errors"] or baseline["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
