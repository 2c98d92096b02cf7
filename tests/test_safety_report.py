"""The clinical safety report: the overview of a ruleset as one self-contained page a hazard log can cite."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.conftest import V1
from workbench.analysis.verify import verify_text
from workbench.publish.overview import asked_order, build
from workbench.publish.safety_report import report_html
from workbench.run.load import load_text
from workbench.run.replay import replay_ruleset


def overview_of(text: str, folder: Path):  # type: ignore[no-untyped-def]
    rs = load_text(text, str(folder / "ruleset.yaml")).required()
    (folder / "ruleset.yaml").write_text(text, encoding="utf-8")
    return build(rs, replay_ruleset(folder / "ruleset.yaml"), verify_text(text, str(folder / "ruleset.yaml")))


def test_the_report_says_every_part_in_clinical_words_and_fetches_nothing(tmp_path: Path):
    folder = tmp_path / "upper-back-pain"
    shutil.copytree(V1, folder)
    o = overview_of((V1 / "ruleset.yaml").read_text(encoding="utf-8"), folder)
    page = report_html(o, "2026-12-05 12:00 UTC")
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page and "@page" in page
    assert not re.search(r"(src|href)\s*=|@import|url\(|<script|<link", page, re.I)  # nothing to fetch
    assert o.content_sha256 in page and "describes a draft" in page
    assert "Questions, in the order they are asked" in page and o.questions[0].title in page
    assert "every possible patient" in page and f"{o.combinations:,}" in page
    assert "<span class=\"broken\">" not in page.split("<h2>Safety promises")[0].split("Summary")[1]


def test_a_broken_promise_leads_the_report_with_the_case_that_breaks_it(tmp_path: Path):
    folder = tmp_path / "upper-back-pain"
    shutil.copytree(V1, folder)
    text = (V1 / "ruleset.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    at = lines.index("  - id: suspected_cauda_equina_or_cord_compression")
    row = next(i for i in range(at, len(lines)) if lines[i].strip().startswith("disposition:"))
    lines[row] = lines[row].replace("emergency", "routine")
    o = overview_of("\n".join(lines) + "\n", folder)
    assert o.broken and o.broken[0].counterexample
    page = report_html(o, "now")
    promises = page.split("<h2>Safety promises</h2>")[1]
    assert promises.index("BROKEN") < promises.index("holds")  # broken first
    assert "Broken by:" in promises and "_" not in o.broken[0].counterexample.split("→")[0].replace("no to", "")


def test_questions_come_in_the_order_a_case_meets_them():
    rs = load_text((V1 / "ruleset.yaml").read_text(encoding="utf-8")).required()
    order = asked_order(rs)
    assert order[0] == rs.model.start
    assert set(order) == {n.id for n in rs.model.nodes if n.kind == "decision"}


def test_the_report_prints_to_pdf(tmp_path: Path):
    """Headless Chromium prints the report; pdftoppm turns its first page into a picture for a person to look
    at (tests/artifacts/safety-report-page-1.png). Skipped where Chromium is missing."""
    import subprocess

    import pytest

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Chromium is not installed")
    folder = tmp_path / "upper-back-pain"
    shutil.copytree(V1, folder)
    page = tmp_path / "report.html"
    page.write_text(report_html(overview_of((V1 / "ruleset.yaml").read_text(encoding="utf-8"), folder), "now"),
                    encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], check=True, capture_output=True, timeout=120)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") >= 2
    if shutil.which("pdftoppm"):
        out = Path(__file__).resolve().parent / "artifacts"
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf),
                        str(out / "safety-report-page")], check=True, timeout=60)
