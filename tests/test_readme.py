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
