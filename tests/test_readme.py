"""The README's set-up commands stay true: CI runs exactly the README's test command."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands():
    return [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("python3 -m venv")]


def test_readme_opens_with_the_two_setup_commands():
    commands = _commands()
    assert len(commands) == 2
    main_job, tests = commands
    assert "calcdetect detect data/samples" in main_job
    assert "pytest" in tests
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert main_job in head and tests in head


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _commands()[1] in ci


def test_every_relative_link_in_the_docs_resolves():
    """Every link of README.md and docs/*.md to a file of the project (anchors: to a heading)."""
    import re

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            assert resolved.is_file(), f"{page.name}: link to {target} finds no file"
            if anchor and resolved.suffix == ".md":
                headings = [re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
                            for h in re.findall(r"^#+ (.*)$", resolved.read_text(encoding="utf-8"), re.M)]
                assert anchor in headings, f"{page.name}: link to {target} finds no heading"


def test_the_filter_example_is_the_shipped_file_and_registers(filter_registry, monkeypatch, capsys):
    import sys

    from calcdetect.cli import main

    example = ROOT / "docs" / "examples" / "box_residual.py"
    assert "```python\n" + example.read_text() + "```" in (ROOT / "README.md").read_text()
    monkeypatch.delitem(sys.modules, "box_residual", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))  # --filters-from puts the file's folder first
    assert main(["filters", "--filters-from", str(example)]) == 0
    import re

    assert re.search(r"\nbox-residual +reach 1 mm  \(radius_mm=1\)  image minus its local box mean\n",
                     capsys.readouterr().out)
