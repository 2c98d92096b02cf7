#!/usr/bin/env bash
# Idempotent set-up for ./run and ./test: a virtual environment with the project and its extras, git,
# Graphviz's `dot`, and (with --with-browser, i.e. for the tests) Debian's Chromium for the browser tests and
# Node.js with the npm packages of examples/downstream-js, tests/ui (axe-core, the accessibility checker) and
# tests/fhir-js (fhirpath.js and the HL7 FHIR R4 JSON Schema).
set -euo pipefail
cd "$(dirname "$0")/.."
want_browser=${1:-}

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Python 3.11 or newer is needed (found: $("$python" --version 2>&1))." >&2
  exit 1
fi

apt_install() {
  local packages=("$@")
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ ! -f .venv/.apt-updated ]; then apt-get update -qq >/dev/null 2>&1 || true; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null 2>&1 && return 0
  elif command -v sudo >/dev/null && command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq >/dev/null 2>&1 || true
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null 2>&1 && return 0
  fi
  return 1
}

if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' 2>/dev/null; then
  apt_install python3-venv || { echo "setup: cannot create a virtual environment; install python3-venv." >&2; exit 1; }
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: [1/2] installing the Python packages into .venv (the first time 1 to 3 minutes; later seconds)"
  started=$(date +%s)
  expected=85  # what a fresh .venv held when this was last counted (pip list), for "how far"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  # pip's own lines go to the log; every few seconds a line here says how far it has got.
  .venv/bin/python -m pip install -e '.[ui,api,cluster,test]' > .venv/pip.log 2>&1 &
  pip_pid=$!
  while kill -0 "$pip_pid" 2>/dev/null; do
    sleep "${SETUP_POLL_SECONDS:-5}"
    fetched=$(grep -c '^Collecting' .venv/pip.log 2>/dev/null || true)
    if grep -q '^Installing collected packages' .venv/pip.log 2>/dev/null; then
      now="all fetched; installing them (the last step)"
    else
      now="${fetched} of about ${expected} packages fetched"
    fi
    echo "setup:       $(( $(date +%s) - started )) s: ${now}"
  done
  if ! wait "$pip_pid" || ! .venv/bin/python -c 'import workbench, streamlit, fastapi, duckdb, distributed' 2>> .venv/pip.log; then
    tail -30 .venv/pip.log >&2
    echo "setup: installing the Python packages failed (full log: .venv/pip.log); is PyPI reachable?" >&2
    exit 1
  fi
  echo "setup:       done in $(( $(date +%s) - started )) s"
  touch "$stamp"
fi

echo "setup: [2/2] checking the programs it uses: git, Graphviz${1:+, Chromium and Node.js}"
if ! command -v git >/dev/null; then
  echo "setup: installing git, which keeps the history of every save, review and release"
  apt_install git || { echo "setup: could not install git; install the 'git' package." >&2; exit 1; }
fi
if ! command -v dot >/dev/null; then
  echo "setup: installing Graphviz (dot) for SVG/PNG pictures of the flow"
  apt_install graphviz || echo "setup: could not install Graphviz; pictures fall back to DOT text (install the 'graphviz' package)." >&2
fi
if [ "$want_browser" = "--with-browser" ] && ! command -v chromium >/dev/null; then
  echo "setup: installing Chromium for the browser tests"
  apt_install chromium fonts-dejavu-core || echo "setup: could not install Chromium; the browser tests will be skipped and say so." >&2
fi
if [ "$want_browser" = "--with-browser" ] && ! command -v curl >/dev/null; then
  echo "setup: installing curl, which the documented EHR walkthrough uses (tests/test_walkthrough.py runs it)"
  apt_install curl || echo "setup: could not install curl; the walkthrough test will fail and say so." >&2
fi
if [ "$want_browser" = "--with-browser" ]; then
  node_ok() { command -v npm >/dev/null && node -e 'process.exit(parseInt(process.versions.node) < 18 ? 1 : 0)' 2>/dev/null; }
  if ! node_ok; then
    echo "setup: installing Node.js and npm for the JavaScript downstream example and its test"
    apt_install nodejs npm && node_ok || echo "setup: could not install Node.js 18 or newer with npm; the JavaScript example's test will fail and say so (install the 'nodejs' and 'npm' packages)." >&2
  fi
  # The JavaScript downstream example; axe-core for the browser tests; for the FHIR tests fhirpath.js (the second
  # FHIRPath engine of the PlanDefinition differential) and the HL7 FHIR R4 JSON Schema, all from the npm registry.
  for folder in examples/downstream-js tests/ui tests/fhir-js; do
    if node_ok && { [ ! -d "$folder/node_modules" ] || [ "$folder/package-lock.json" -nt "$folder/node_modules" ]; }; then
      echo "setup: installing the npm packages of $folder (npm ci)"
      if (cd "$folder" && npm ci --no-audit --no-fund) > .venv/npm.log 2>&1; then
        touch "$folder/node_modules"
      else
        tail -20 .venv/npm.log >&2
        echo "setup: npm ci failed in $folder (full log: .venv/npm.log); is the npm registry reachable? Its tests will fail." >&2
      fi
    fi
  done
fi
touch .venv/.apt-updated
