"""export and serve: the published releases for downstream apps, as files or over HTTP."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .. import workspace
from ..problems import has_errors
from .common import (
    FAILED,
    OK,
    Commands,
    UsageError,
    keyring_option,
    positive,
    print_json,
    print_problems,
    rulesets_option,
    rulesets_root,
    text_or_json,
    trusted_keyring,
)


def register(commands: Commands) -> None:
    sub = commands.add("export", "write the published releases as JSON files for downstream apps",
                       "workbench export --out public/")
    sub.add_argument("--out", required=True, metavar="DIR", help="folder to write index.json and <id>/<version>.json")
    sub.add_argument("--fhir", action="store_true",
                     help="also write each release as FHIR R4 resources: <id>/fhir/<version>.Questionnaire.json and "
                          ".PlanDefinition.json")
    base_url_option(sub, "the server that will serve them")
    sub.add_argument("--withdraw", action="append", metavar="ID@VERSION",
                     help="remove a release a previous export wrote that is no longer published (repeat for more); "
                          "without it such a release stops the export")
    rulesets_option(sub)
    keyring_option(sub, "releases must be signed with")
    text_or_json(sub)
    sub.set_defaults(run=cmd_export)

    sub = commands.add("serve", "serve the published releases over a read-only HTTP API",
                       "workbench serve --host 127.0.0.1 --port 8000")
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sub.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    rulesets_option(sub)
    keyring_option(sub, "releases must be signed with")
    sub.add_argument("--served", metavar="FILE", help="where the highest release served of each ruleset is "
                     "remembered, so serve never goes back (default: served.json in the workspace)")
    base_url_option(sub, "this server, as EHRs reach it (default: http://HOST:PORT)")
    sub.add_argument("--cds-auth", metavar="FILE", default=os.environ.get("WORKBENCH_CDS_AUTH"),
                     help="the CDS clients trusted: issuers, their JWK Sets, FHIR servers, CORS origins (JSON; see "
                          "docs/downstream.md; default: $WORKBENCH_CDS_AUTH). Without it CDS Hooks calls are refused")
    sub.add_argument("--insecure-no-auth", action="store_true",
                     help="accept CDS Hooks calls without a JWT, for a local trial only: every response says so")
    sub.add_argument("--cors-origin", action="append", metavar="ORIGIN", default=[],
                     help="a browser origin allowed to call (repeat for more; also 'cors_origins' in --cds-auth)")
    sub.add_argument("--audit", metavar="FILE", default=os.environ.get("WORKBENCH_CDS_AUDIT"),
                     help="where CDS Hooks feedback is appended, one JSON line each (default: $WORKBENCH_CDS_AUDIT "
                          "or cds-feedback.jsonl in the workspace)")
    sub.add_argument("--workers", type=positive, default=1, metavar="N",
                     help="worker processes (default: 1); each serves every release and notices a new one within "
                          "a second (docs/serving.md: N replicas behind a proxy)")
    sub.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                     help="server log detail (default: info, one line per request)")
    text_or_json(sub)
    sub.set_defaults(run=cmd_serve)


def base_url_option(sub: argparse.ArgumentParser, what: str) -> None:
    sub.add_argument("--base-url", metavar="URL", default=None,
                     help=f"the http(s) address FHIR canonical URLs and CDS Hooks audiences are under: {what} "
                          "(else $WORKBENCH_BASE_URL)")


def canonicals(base: str | None) -> Any:
    from ..publish.fhir import Canonicals

    try:
        return Canonicals.of(base)
    except ValueError as exc:
        raise UsageError(f"--base-url: {exc}") from None


def cmd_export(args: argparse.Namespace) -> int:
    from ..publish.export import ExportRefused, export

    root = rulesets_root(args.rulesets)
    try:
        fhir = canonicals(args.base_url) if args.fhir else None
        report = export(root, Path(args.out), trusted_keyring(args), args.withdraw or (), fhir=fhir)
    except ExportRefused as exc:
        raise UsageError(f"cannot write the export to {args.out}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot write the export to {args.out}: {exc.strerror or exc}") from None
    if args.format == "json":
        print_json(report.to_dict())
    else:
        print_problems(report.problems, sys.stderr)
        if any(p.code == "WB909" for p in report.problems):
            print("Nothing was exported.", file=sys.stderr)
            return FAILED
        if report.problems:
            print("Releases with problems were left out of the export.", file=sys.stderr)
        print(f"exported {report.releases} release{'s' if report.releases != 1 else ''} to {report.out}: "
              f"{len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed")
    return FAILED if has_errors(report.problems) else OK


def cmd_serve(args: argparse.Namespace) -> int:
    root = rulesets_root(args.rulesets)
    try:
        import uvicorn

        from ..api import ServeConfig
    except ImportError as exc:
        raise UsageError(f"serving needs FastAPI and uvicorn ({exc.name} is missing): "
                         "pip install 'clinical-rules-workbench[api]'") from None
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    from ..api.auth import AuthConfigError, CdsAuth

    keyring = trusted_keyring(args)  # checked here, so a missing keyring is said once, not by every worker
    url = f"http://{args.host}:{args.port}"
    base = canonicals(args.base_url or os.environ.get("WORKBENCH_BASE_URL") or url)
    if args.insecure_no_auth and args.cds_auth:
        raise UsageError("give either --cds-auth or --insecure-no-auth, not both")
    cds_auth = str(Path(args.cds_auth).expanduser().resolve()) if args.cds_auth else None
    try:
        if cds_auth:
            CdsAuth.from_file(Path(cds_auth))  # said once here, not by every worker
    except AuthConfigError as exc:
        raise UsageError(str(exc)) from None
    audit = Path(args.audit).expanduser() if args.audit else workspace.home() / "cds-feedback.jsonl"
    config = ServeConfig(root=str(root.resolve()), keyring=str(Path(keyring.file).resolve()) if keyring.file else None,
                         served=str(Path(args.served).expanduser().resolve()) if args.served else None,
                         base_url=base.base, cds_auth=cds_auth, insecure_no_auth=args.insecure_no_auth,
                         audit=str(audit.resolve()), cors_origins=tuple(args.cors_origin))
    if args.insecure_no_auth:
        print("WARNING: --insecure-no-auth: CDS Hooks calls are not authenticated; for a local trial only, never "
              "with patient data. Every response says so.", file=sys.stderr, flush=True)
    if args.format == "json":
        print(json.dumps({"url": url, "rulesets": str(root), "workers": args.workers}), flush=True)
    else:
        print(f"serving the releases in {root} (read-only) at {url} with {args.workers} worker"
              f"{'s' if args.workers > 1 else ''} — API description at {url}/docs; FHIR at {base.fhir}, CDS Hooks at "
              f"{base.base}/cds-services", flush=True)
    try:
        if args.workers == 1:
            uvicorn.run(config.app(), host=args.host, port=args.port, log_level=args.log_level)
        else:  # uvicorn starts each worker from an import string: the configuration goes by the environment
            config.to_environment()
            uvicorn.run("workbench.api:app_from_environment", factory=True, workers=args.workers, host=args.host,
                        port=args.port, log_level=args.log_level)
    except SystemExit as exc:  # uvicorn has logged why it could not start
        if exc.code:
            raise UsageError(f"cannot serve at {url}: is the port in use, or the address not this machine's?") from None
    return OK
