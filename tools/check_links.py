"""Check the links of the documentation: every relative link in README.md and docs/*.md must
name a file or folder inside the repository, and every ``#anchor`` a heading of its page.

Links to the web (``http:``, ``https:``, ``mailto:``) are not fetched: the check runs offline. A
relative link that climbs out of the repository (``../elsewhere.md``) is an error, because the
repository is the product: a reader who clones it has nothing outside it.

Run from anywhere: ``python -m tools.check_links`` (``make lint`` does). Exit 1 lists every
broken link as ``file:line: link: problem``.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
# [text](target) and [text](target "title"); images too. Autolinks (<https://...>) are web links.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
WEB = ("http://", "https://", "mailto:")


def documents(root: Path = ROOT) -> list[Path]:
    """The pages checked: the front page and every page of ``docs/``."""
    return [root / "README.md", *sorted((root / "docs").glob("**/*.md"))]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, markup and punctuation dropped, spaces
    to hyphens (so ``Ingestion: the APIs (`ingestion/`)`` is ``ingestion-the-apis-ingestion``)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of a Markdown page; a repeated heading gets ``-1``, ``-2``, as on GitHub."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in _outside_code(page.read_text(encoding="utf-8").splitlines()):
        match = HEADING.match(line[1])
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def problems(page: Path, root: Path = ROOT) -> list[str]:
    """Every broken link of one page, as ``file:line: link: problem``."""
    found: list[str] = []
    for number, line in _outside_code(page.read_text(encoding="utf-8").splitlines()):
        for target in LINK.findall(_without_inline_code(line)):
            problem = _check(page, target, root)
            if problem:
                found.append(f"{page.relative_to(root)}:{number}: {target}: {problem}")
    return found


def _check(page: Path, target: str, root: Path) -> str | None:
    """Why ``target``, linked from ``page``, does not resolve; None when it does."""
    if target.startswith(WEB):
        return None
    if re.match(r"^[a-z][a-z0-9+.-]*:", target):
        return "a link to something other than the web or the repository"
    path_part, _, anchor = target.partition("#")
    if path_part.startswith("/"):
        return "an absolute path: link relative to the page instead"
    resolved = (page.parent / path_part).resolve() if path_part else page
    if not resolved.is_relative_to(root):
        return "points outside the repository"
    if not resolved.exists():
        return "no such file or folder in the repository"
    if anchor:
        if resolved.suffix != ".md" or resolved.is_dir():
            return "an anchor into something that is not a Markdown page"
        if anchor not in anchors(resolved):
            return f"no heading with the anchor #{anchor} in {resolved.relative_to(root)}"
    return None


def _outside_code(lines: list[str]) -> list[tuple[int, str]]:
    """The numbered lines that are not inside a fenced code block."""
    kept: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(lines, start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            kept.append((number, line))
    return kept


def _without_inline_code(line: str) -> str:
    """The line with `inline code` removed: code that looks like a link is not one."""
    return re.sub(r"`[^`]*`", "", line)


def main() -> int:
    """Check every page; print the broken links and exit 1 if there are any."""
    logging.basicConfig(format="%(message)s", level=logging.INFO)
    pages = documents()
    broken = [problem for page in pages for problem in problems(page)]
    for problem in broken:
        logger.error(problem)
    logger.info("check_links: %d page(s), %d broken link(s)", len(pages), len(broken))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
