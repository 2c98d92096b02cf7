"""A released version's files, downloaded from the Releases page without a terminal: the signed release JSON,
its FHIR Questionnaire and PlanDefinition and its CDS Hooks discovery document, each with the sha256 of the bytes
downloaded and the release's signature, so a downstream developer can check what they took.

The files are made by the core (publish/downloads.py), the same functions an export and the API use; this module
only lays them out."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import streamlit as st

from ..publish.downloads import Download, downloads, signature
from ..publish.fhir import BASE_URL_VARIABLE, Canonicals
from ..publish.releases import Release
from . import common


def chooser(releases: Sequence[Release]) -> None:
    """Every released version's files, one version at a time (the newest first)."""
    if not releases:
        return
    st.subheader("Download a release", anchor=False)
    newest = list(reversed(releases))
    chosen = st.selectbox("Version", [r.version for r in newest], key="releases.download.version")
    show(next(r for r in newest if r.version == chosen), key="history")


def show(release: Release, *, key: str) -> None:
    """The four files of `release`, each a download button with the sha256 of its bytes, and the signature."""
    try:
        base = Canonicals.of()
    except ValueError as exc:  # WORKBENCH_BASE_URL set to something that is no http(s) address
        st.error(f"The FHIR and CDS Hooks files cannot be made: {BASE_URL_VARIABLE} is not usable ({exc}).")
        return
    files = _files(release, base.base, hashlib.sha256(release.data).hexdigest())
    signed = signature(release)
    with st.container(border=True):
        st.markdown(f"**Version {common.escape_md(release.version)}**, released {release.released_at[:10]}, "
                    f"signed by **{common.escape_md(signed['signer'])}** "
                    f"(key `{common.escape_md(signed['key_id'])}`, {common.escape_md(signed['algorithm'])}).")
        columns = st.columns(len(files))
        for column, item in zip(columns, files, strict=True):
            column.download_button(item.title, item.data, file_name=item.file_name, mime=item.media_type,
                                   key=f"releases.download.{key}.{release.version}.{item.kind}",
                                   icon=":material/download:", width="stretch", on_click="ignore")
        st.caption("The sha256 of each file's bytes, as sha256sum prints it (kept beside the files as SHA256SUMS, "
                   "it checks them all):")
        st.code("\n".join(f"{item.sha256}  {item.file_name}" for item in files), language=None, wrap_lines=True)
        st.caption(f"The release's content sha256 (of its RFC 8785 canonical JSON, what the signature and every FHIR "
                   f"artefact carry): `{release.sha256}`. FHIR canonical URLs and the CDS Hooks prefetch are under "
                   f"`{base.base}`, the base URL exports use by default ({BASE_URL_VARIABLE} changes it). How to "
                   "check a file and its signature: docs/downstream.md.")
        with st.expander("The signature"):
            st.code("\n".join(f"{name}: {value}" for name, value in signed.items()), language=None, wrap_lines=True)


@st.cache_data(max_entries=32, show_spinner="Making the FHIR and CDS Hooks files…")
def _files(_release: Release, base: str, signed: str) -> list[Download]:
    """Made once per release file and base URL, keyed by the sha256 of the signed file (the same content released
    twice, after a history was rewound, is two files with two signatures)."""
    return downloads(_release, Canonicals(base))
