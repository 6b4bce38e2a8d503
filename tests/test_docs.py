"""The documentation points only at files that are in the tree: every relative Markdown link, and every
``models/...`` or ``benchmarks/results/...`` path that the README, ``docs/`` and the model cards name."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
# a path named in the text; not one that follows "COMMIT:" (git show 8f48c7d:models/x) or "--out" (a file written)
PATH = re.compile(r"(?<![\w/.:-])(?<!--out )((?:models|benchmarks/results)/[\w.*{},<>-]*[\w*}>])")
HISTORY = ROOT / "docs" / "experiments.md"  # names retired files on purpose, each with the commit that holds it


def _documents() -> list[Path]:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "models").glob("*.md"))]
    return [p for p in docs if p.is_file()]


def _expand(pattern: str) -> list[str]:
    """Brace alternatives (``x.{md,csv}``) expanded, ``<placeholder>`` read as ``*``."""
    pattern = re.sub(r"<[^>]*>", "*", pattern)
    found = re.search(r"\{([^{}]*)\}", pattern)
    if not found:
        return [pattern]
    head, tail = pattern[: found.start()], pattern[found.end() :]
    return [p for option in found.group(1).split(",") for p in _expand(head + option + tail)]


def _exists(base: Path, pattern: str) -> bool:
    return all(any(base.glob(p)) if "*" in p else (base / p).exists() for p in _expand(pattern))


def test_documents_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _documents()}
    assert {"README.md", "models/README.md", "docs/experiments.md", "docs/contributing.md"} <= names


def test_every_relative_link_resolves() -> None:
    broken = []
    for doc in _documents():
        for target in LINK.findall(doc.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor on the same page
            path = target.split("#")[0]
            if not (doc.parent / path).exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not broken, "\n".join(broken)


def test_every_named_model_and_result_path_exists() -> None:
    missing = []
    for doc in _documents():
        if doc == HISTORY:
            continue
        for path in PATH.findall(doc.read_text()):
            if not _exists(ROOT, path.rstrip(".")):
                missing.append(f"{doc.relative_to(ROOT)}: {path}")
    assert not missing, "\n".join(missing)
