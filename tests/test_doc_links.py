"""Every relative link of the docs and READMEs leads somewhere: a file of the
repository, and a heading of it when the link names one. Files move (issue
14 moved most of core/); a link left behind would send a reader nowhere."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = sorted(
    [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("clients/*/README.md")]
    + [*ROOT.glob("channels/*/README.md"), *ROOT.glob("examples/**/*.md")]
)
# [text](target): the target up to a space (a title) or the closing parenthesis.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)[^)]*\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: pathlib.Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def relative_links(path: pathlib.Path) -> list[str]:
    text = FENCE.sub("", path.read_text())
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    broken = []
    for target in relative_links(doc):
        file_part, _, heading = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.is_relative_to(ROOT) or not linked.exists():  # a clone has only ROOT
            broken.append(target)
        elif heading and linked.suffix == ".md" and heading not in anchors(linked):
            broken.append(target)
    assert broken == []


def test_the_readme_links_the_design_in_the_repository():
    assert "docs/design.md" in relative_links(ROOT / "README.md")


def test_the_design_says_where_every_sql_function_lives():
    """A function added to the schema is added to docs/design.md's table of rules."""
    sql = "\n".join(path.read_text() for path in ROOT.glob("core/schema/**/*.sql"))
    functions = set(re.findall(r"CREATE (?:OR REPLACE )?FUNCTION (\w+)", sql))
    design = (ROOT / "docs" / "design.md").read_text()
    assert len(functions) > 30
    assert {name for name in functions if f"{name}.sql" not in design} == set()
