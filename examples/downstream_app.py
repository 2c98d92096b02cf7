"""A downstream app: fetch a published ruleset over HTTP, verify its sha256, then ask until there is a disposition.

    workbench serve --port 8000 &
    python examples/downstream_app.py --server http://127.0.0.1:8000 --ruleset upper-back-pain

Questions are asked on the terminal ("not sure" is an answer too: it is taken as whichever answer is more
dangerous); `--answers '{"age": 62, "known_cancer": true}'` and `--unsure known_cancer` script some or all of
them. Before anything is asked, the release is checked against the keyring this app trusts (`--keyring`):
signed by its approving clinician with a trusted key, unchanged since; otherwise it is refused. Evaluating
uses the workbench runtime, so the app works offline once it holds a verified release.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from workbench import evaluate
from workbench.problems import ProblemError
from workbench.publish.runtime import load_release_json
from workbench.publish.signing import Keyring, load_keyring


def trusted_keys(path: str | None) -> Keyring:
    """The keys this app trusts to sign releases: the deployment's keyring file."""
    return load_keyring(Path(path) if path else None, required=True)


def fetch_release(server: str, ruleset_id: str, version: str | None, keyring: Keyring) -> tuple[dict[str, Any], Any]:
    """The release document (the latest unless `version` pins one) and its compiled ruleset; the app stops
    unless the document is signed by a trusted approver and unchanged since."""
    url = f"{server.rstrip('/')}/rulesets/{ruleset_id}" + (f"/versions/{version}" if version else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        data = response.read()
    try:
        ruleset = load_release_json(data, keyring)  # the signature, the sha256, then validation
    except ProblemError as exc:
        raise SystemExit(f"refusing {url}: " + " ".join(p.message for p in exc.problems)) from None
    return json.loads(data), ruleset


UNSURE = object()


def ask(spec: dict[str, Any]) -> Any:
    """One question on the terminal, asked again until the answer fits the input (or is "not sure")."""
    hint = {"boolean": "yes/no", "enum": "/".join(spec.get("values", [])),
            "number": f"a number{' in ' + spec['unit'] if spec.get('unit') else ''}"}[spec["type"]] + "/not sure"
    while True:
        text = input(f"{spec['question']} ({hint}) ").strip().lower()
        if text in ("not sure", "unsure", "?"):
            return UNSURE
        if spec["type"] == "boolean" and text in ("yes", "y", "no", "n"):
            return text.startswith("y")
        if spec["type"] == "enum" and text in spec["values"]:
            return text
        if spec["type"] == "number":
            try:
                return float(text) if "." in text else int(text)
            except ValueError:
                pass
        print(f"  please answer {hint}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--ruleset", default="upper-back-pain")
    parser.add_argument("--version", help="pin a released version (default: the latest)")
    parser.add_argument("--keyring", help="the keyring of trusted approvers' keys (default: $WORKBENCH_KEYRING or "
                                          ".workbench/keyring.json)")
    parser.add_argument("--answers", default="{}", help="answers known already, as a JSON object")
    parser.add_argument("--unsure", default="", help="inputs the person is not sure about, comma-separated")
    args = parser.parse_args(argv)

    document, ruleset = fetch_release(args.server, args.ruleset, args.version, trusted_keys(args.keyring))
    inputs = {spec["id"]: spec for spec in document.get("inputs", [])}
    print(f"{document['id']} {document['version']} (sha256 {document['sha256'][:12]}…, signed by "
          f"{document['signature']['signer']})")
    answers = json.loads(args.answers)
    unsure = [part.strip() for part in args.unsure.split(",") if part.strip()]
    while (result := evaluate(ruleset, answers, unsure=unsure)).status == "needs_input":
        for input_id in result.needs:
            try:
                answer = ask(inputs[input_id])
            except EOFError:
                print("\nstopped before a disposition was reached", file=sys.stderr)
                return 1
            if answer is UNSURE:
                unsure.append(input_id)
            else:
                answers[input_id] = answer
    labels = {d["id"]: d["label"] for d in document["dispositions"]}
    print(f"Disposition: {result.disposition} — {labels[result.disposition]}")
    print(f"Outcome: {result.outcome}")
    print(f"Red flags: {', '.join(result.red_flags) or 'none'}")
    if result.unsure:
        print(f"Not sure about: {', '.join(result.unsure)} (each taken as the more dangerous answer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
