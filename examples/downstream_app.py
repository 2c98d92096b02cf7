"""A downstream app: fetch a published ruleset over HTTP, verify its sha256, then ask until there is a disposition.

    workbench serve --port 8000 &
    python examples/downstream_app.py --server http://127.0.0.1:8000 --ruleset upper-back-pain

Questions are asked on the terminal ("not sure" is an answer too: it is taken as whichever answer is more
dangerous); `--answers '{"age": 62, "known_cancer": true}'` and `--unsure known_cancer` script some or all of
them. Before anything is asked, the release is checked against the keyring this app trusts (`--keyring`):
signed by its approving clinician with a trusted key, unchanged since, the ruleset asked for (`--ruleset`), the
version pinned (`--version`) or at least the one named (`--at-least`), and never below the highest release this
app has trusted before (remembered in `--state`); otherwise it is refused. Evaluating happens here, on the
verified release, never on the server: a server's answer is not signed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

from workbench import evaluate
from workbench.problems import ProblemError
from workbench.publish.runtime import Pin, accept_release
from workbench.publish.signing import Keyring, load_keyring
from workbench.run.engine import CompiledRuleset


def trusted_keys(path: str | None) -> Keyring:
    """The keys this app trusts to sign releases: the deployment's keyring file."""
    return load_keyring(Path(path) if path else None, required=True)


def fetch_release(server: str, pin: Pin, keyring: Keyring, state: Path) -> tuple[dict[str, Any], Any]:
    """The release document (the pinned version, or the latest) and its compiled ruleset; the app stops unless
    the document is signed by a trusted approver, unchanged since, what `pin` asks for, and not older than the
    highest release trusted before."""
    url = f"{server.rstrip('/')}/rulesets/{pin.ruleset}" + (f"/versions/{pin.version}" if pin.version else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        data = response.read()
    try:
        release = accept_release(data, keyring, pin=pin, state=state)  # signature, sha256, pin, rollback, validation
    except ProblemError as exc:
        raise SystemExit(f"refusing {url}: " + " ".join(p.message for p in exc.problems)) from None
    return release.document, CompiledRuleset(release.model, url)


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
    parser.add_argument("--at-least", help="accept the latest release only if it is at least this version")
    parser.add_argument("--state", default=os.environ.get("DOWNSTREAM_STATE", str(
        Path.home() / ".local" / "state" / "workbench-downstream" / "trusted-releases.json")),
                        help="where the highest release trusted so far is remembered (default: $DOWNSTREAM_STATE or "
                             "~/.local/state/workbench-downstream/trusted-releases.json): a lower one is refused")
    parser.add_argument("--keyring", help="the keyring of trusted approvers' keys (default: $WORKBENCH_KEYRING or "
                                          ".workbench/keyring.json)")
    parser.add_argument("--answers", default="{}", help="answers known already, as a JSON object")
    parser.add_argument("--unsure", default="", help="inputs the person is not sure about, comma-separated")
    args = parser.parse_args(argv)

    pin = Pin(args.ruleset, version=args.version, at_least=args.at_least)
    document, ruleset = fetch_release(args.server, pin, trusted_keys(args.keyring), Path(args.state))
    inputs = {spec["id"]: spec for spec in document.get("inputs", [])}
    print(f"{document['id']} {document['version']} (sha256 {document['sha256']}, signed by "
          f"{document['signature']['signer']}), evaluated here")
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
