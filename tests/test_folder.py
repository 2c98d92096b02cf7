"""One object owns the ruleset folder's layout; the rest of the code asks it."""

from __future__ import annotations

from pathlib import Path

from workbench.folder import RulesetFolder


def test_the_folder_knows_where_everything_lives(tmp_path: Path) -> None:
    folder = RulesetFolder(tmp_path / "neck-pain")
    assert folder.id == "neck-pain"
    assert folder.ruleset_file == tmp_path / "neck-pain" / "ruleset.yaml"
    assert folder.release_file("1.2.0") == tmp_path / "neck-pain" / "releases" / "1.2.0.json"
    assert folder.git_path("vignettes", "a.yaml") == "neck-pain/vignettes/a.yaml"


def test_vignette_files_are_yaml_and_yml_in_name_order_and_nothing_else(tmp_path: Path) -> None:
    folder = RulesetFolder(tmp_path)
    assert folder.vignette_files() == []
    folder.vignettes_dir.mkdir()
    for name in ("b.yml", "a.yaml", "notes.txt", "c.yaml"):
        (folder.vignettes_dir / name).write_text("x", encoding="utf-8")
    assert [p.name for p in folder.vignette_files()] == ["a.yaml", "b.yml", "c.yaml"]


def test_a_ruleset_file_or_its_folder_name_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / "ruleset.yaml").write_text("id: x\n", encoding="utf-8")
    assert RulesetFolder.of(tmp_path) == RulesetFolder.of(tmp_path / "ruleset.yaml") == RulesetFolder(tmp_path)
    assert RulesetFolder.holds_ruleset(tmp_path) and not RulesetFolder.holds_ruleset(tmp_path / "elsewhere")
