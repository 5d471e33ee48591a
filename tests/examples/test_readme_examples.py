"""The README's pytest examples are excerpts of these files, word for word.

Each ``python`` code block of the README whose first line is ``# from tests/examples/NAME.py``
must appear in that file exactly as shown (after that first line), so the README never shows code
that the test suite does not run.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n# from (tests/examples/[\w.]+\.py)\n(.*?)```", re.S)


def test_every_readme_excerpt_is_in_its_example_file() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    excerpts = BLOCK.findall(readme)
    assert len(excerpts) >= 4, "the README shows the examples of tests/examples/"
    for path, code in excerpts:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert code in source, f"README excerpt of {path} differs from the file:\n{code}"
