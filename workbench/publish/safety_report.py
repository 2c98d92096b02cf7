"""The clinical safety report: a ruleset's overview as one self-contained HTML page (no script, no font, no image,
nothing fetched) that prints cleanly to PDF, headed by the sha256 a DCB0129 hazard log cites. Every text from
the ruleset is escaped."""

from __future__ import annotations

from html import escape

from .overview import Overview

_STYLE = """
:root { color-scheme: light; }
body { font: 11pt/1.45 "DejaVu Sans", Arial, Helvetica, sans-serif; color: #1a1a1a; margin: 2rem auto;
       max-width: 60rem; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 0.3rem; } h2 { font-size: 1.2rem; margin: 1.6rem 0 0.5rem;
     border-bottom: 2px solid #1a1a1a; padding-bottom: 0.15rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.3rem; }
.meta { border: 1px solid #888; padding: 0.6rem 0.8rem; margin: 0.8rem 0; }
.meta dt { font-weight: bold; float: left; clear: left; width: 13rem; } .meta dd { margin: 0 0 0.2rem 13rem; }
.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 9.5pt; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 0.4rem 0 0.8rem; table-layout: auto; }
th, td { border: 1px solid #999; padding: 0.25rem 0.4rem; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
td.status, th.status { white-space: nowrap; }
th { background: #eee; }
.broken { color: #a50e0e; font-weight: bold; } .holds { color: #1b6e20; font-weight: bold; }
.note { color: #444; font-size: 9.5pt; }
ol.questions > li { margin-bottom: 0.6rem; }
@page { size: A4; margin: 16mm 14mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  h2 { break-after: avoid; } tr, li, .meta { break-inside: avoid; }
  thead { display: table-header-group; }
}
"""

_STATUS = {"holds": ("holds", "holds"), "violated": ("BROKEN", "broken"), "vacuous": ("applies to no case", ""),
           "unproved": ("not proved", ""), "not checked": ("not checked yet", "")}


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def report_html(overview: Overview, generated_at: str) -> str:
    """The whole report, one string of HTML."""
    o = overview
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>Clinical safety report — {_e(o.title)} {_e(o.version)}</title><style>{_STYLE}</style></head>"
             "<body><main>", f"<h1>Clinical safety report: {_e(o.title)}</h1>"]
    if o.description:
        parts.append(f"<p>{_e(' '.join(o.description.split()))}</p>")
    parts.append(_meta(o, generated_at))
    parts.append(_summary(o))
    parts.append(_promises(o))
    parts.append(_questions(o))
    parts.append(_dispositions(o))
    parts.append(_flags(o))
    parts.append(_changes(o))
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _meta(o: Overview, generated_at: str) -> str:
    rows = [("Ruleset", f"{_e(o.title)} (<span class=\"hash\">{_e(o.id)}</span>)"), ("Version", _e(o.version))]
    if o.release is not None and o.release.current:
        rows += [("Release", f"version {_e(o.release.version)}, released {_e(o.release.released_at)}"),
                 ("Release sha256", f"<span class=\"hash\">{_e(o.release.sha256)}</span>"),
                 ("Written by / approved by", f"{_e(o.release.author)} / {_e(o.release.approver)}")]
    else:
        rows.append(("Release", "<b>Not released: this report describes a draft.</b>"))
        if o.release is not None:
            rows += [("Last release", f"version {_e(o.release.version)}, released {_e(o.release.released_at)}, "
                      f"approved by {_e(o.release.approver)}"),
                     ("Last release sha256", f"<span class=\"hash\">{_e(o.release.sha256)}</span>")]
    rows += [("Content sha256 (this report)", f"<span class=\"hash\">{_e(o.content_sha256)}</span>"),
             ("Report made", _e(generated_at))]
    return "<dl class=\"meta\">" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _summary(o: Overview) -> str:
    people = (f"every possible patient: {o.combinations:,} answer combinations (numbers counted by the ranges "
              "their thresholds define), all checked" if o.combinations else "not checked yet")
    nodes, branches = o.nodes_reached, o.branches_reached
    items = [f"Safety promises: {len(o.promises) - len(o.broken)} of {len(o.promises)} hold"
             + (f"; <span class=\"broken\">{len(o.broken)} broken</span>" if o.broken else ""),
             f"Verification over {_e(people)}: {_e(o.verification_status)}",
             f"Vignettes (test cases): {o.passed} of {o.vignettes} pass"
             + (f"; <span class=\"broken\">failing: {_e(', '.join(o.failing[:20]))}</span>" if o.failing else ""),
             f"Coverage by the vignettes: {nodes[0]} of {nodes[1]} nodes, {branches[0]} of {branches[1]} branches"]
    if o.problems:
        items.append(f"<span class=\"broken\">{len(o.problems)} errors in the content</span>")
    return "<h2>Summary</h2><ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _promises(o: Overview) -> str:
    if not o.promises:
        return "<h2>Safety promises</h2><p>None stated.</p>"
    rows = []
    for p in sorted(o.promises, key=lambda p: p.status != "violated"):  # broken first
        word, css = _STATUS.get(p.status, (p.status, ""))
        counter = f"<br><span class=\"note\">Broken by: {_e(p.counterexample)}</span>" if p.counterexample else ""
        rows.append(f"<tr><td class=\"status {css}\">{_e(word)}</td><td>{_e(p.title)}{counter}</td>"
                    f"<td>{_e(p.when)}</td><td>{_e(p.demands)}</td></tr>")
    return ("<h2>Safety promises</h2><table><thead><tr><th class=\"status\">Status</th><th>Promise</th><th>When</th>"
            "<th>It must be</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _questions(o: Overview) -> str:
    items = []
    for q in o.questions:
        asks = "; ".join(f"{_e(question)}" for _, question in q.asks)
        steps = "".join(f"<tr><td>{_e(s.when)}</td><td>{_e(s.to)}"
                        + (f" <b>({_e(s.disposition)})</b>" if s.disposition else "") + "</td></tr>"
                        for s in q.steps)
        items.append(f"<li><h3>{_e(q.title)}</h3><p class=\"note\">Asks: {asks or '—'}</p>"
                     f"<table><thead><tr><th>When</th><th>Then</th></tr></thead><tbody>{steps}</tbody></table></li>")
    return "<h2>Questions, in the order they are asked</h2><ol class=\"questions\">" + "".join(items) + "</ol>"


def _dispositions(o: Overview) -> str:
    rows = "".join(f"<tr><td>{i + 1}. {_e(d.label)}</td><td>{_e('; '.join(t for _, t in d.outcomes) or '—')}</td></tr>"
                   for i, d in enumerate(o.dispositions))
    return ("<h2>Dispositions, most urgent first, with their outcomes</h2><table><thead><tr><th>Disposition</th>"
            "<th>Outcomes</th></tr></thead><tbody>" + rows + "</tbody></table>")


def _flags(o: Overview) -> str:
    rows = "".join(f"<tr><td>{_e(f.label)}</td><td>{_e(f.when)}</td></tr>" for f in o.red_flags)
    return ("<h2>Red flags (raised on every case where they hold)</h2><table><thead><tr><th>Red flag</th>"
            "<th>Raised when</th></tr></thead><tbody>" + (rows or "<tr><td colspan=2>None</td></tr>")
            + "</tbody></table>")


def _changes(o: Overview) -> str:
    if o.release is None:
        return "<h2>What changed</h2><p>Never released: there is nothing to compare with.</p>"
    if o.release.current:
        return f"<h2>What changed</h2><p>Nothing since release {_e(o.release.version)}: this is its content.</p>"
    items = "".join(f"<li>{_e(c)}</li>" for c in o.changes[:80]) or "<li>No change in what the rules say.</li>"
    bump = f" The change calls for a <b>{_e(o.bump)}</b> version." if o.bump and o.bump != "none" else ""
    return f"<h2>What changed since release {_e(o.release.version)}</h2><p>{bump}</p><ul>{items}</ul>"
