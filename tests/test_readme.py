"""README.md's commands are the ones CI runs, in the README's order."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def console_blocks(text):
    return [block.strip() for block in re.findall(r"```console\n(.*?)```", text, re.S)]


def ci_commands():
    script = (REPO / ".ci" / "run").read_text()
    lines = [line for line in script.splitlines() if line and not line.startswith(("#", " "))]
    return [
        line.replace('"${PYTHON:-python3}"', "python3")
        for line in lines
        if line.startswith('"${PYTHON:-python3}" -m venv')
    ]


def test_ci_runs_the_readme_commands_demo_first():
    demo, checks = console_blocks((REPO / "README.md").read_text())[:2]
    assert demo.endswith(" -c")  # the console, which CI cannot answer: it runs one command
    assert ci_commands() == [demo.removesuffix(" -c") + ' -x "module show"', checks]
