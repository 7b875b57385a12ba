"""PyYAML's syntax errors in the project's own words, each with a hint and its place.

``yamlfile.read_yaml`` turns every ``yaml.MarkedYAMLError`` into a ``ConfigError`` with the
message and place chosen here: "indentation: this line is indented more than the list above
it (line 4)" rather than "expected <block end>, but found '<block sequence start>'".
"""

from __future__ import annotations

from typing import Any

import yaml


def plain_yaml_problem(exc: yaml.MarkedYAMLError, text: str) -> tuple[str, Any]:
    """PyYAML's error in the project's own words, and the place to show (a mark)."""
    problem = exc.problem or "not valid YAML"
    mark = exc.problem_mark or exc.context_mark
    context = exc.context or ""
    if problem.startswith("but found another document"):
        return "only one YAML document per file: remove the '---' line", mark
    if "mapping values are not allowed" in problem:
        return ("a ':' where it does not belong: put quotes around text that contains "
                "': ', or check this line's indentation"), mark
    if "found character '\\t'" in problem:
        return "a tab character: indent with spaces only", mark
    if "could not find expected ':'" in problem:
        return "expected 'key: value' here: check the indentation and quotes", mark
    if "quoted scalar" in context and "end of stream" in problem:
        return ("a quote opened here is never closed: add the closing quote",
                exc.context_mark or mark)
    if "escape character" in problem:
        return ("an unknown \\ escape inside double quotes: use single quotes, or write "
                "\\\\ for a backslash"), mark
    if "flow" in context:
        return ("a [ ] or { } is not closed before this point: close it, or write the "
                "list one '- item' per line"), mark
    if "cannot start any token" in problem:
        char = problem.split("'")[1] if "'" in problem else "this character"
        return f"a value cannot start with '{char}': put quotes around it", mark
    if problem.startswith("expected <block end>") and mark is not None:
        return _indentation_hint(problem, mark, text), mark
    if "did not find expected '-' indicator" in problem:
        return "expected another '- ' list item here: check the indentation", mark
    if "did not find expected key" in problem:
        return ("expected another 'key: value' at this indentation: check the "
                "indentation"), mark
    return problem, mark


def _indentation_hint(problem: str, mark: Any, text: str) -> str:
    """Which way this line is out of line with the list or keys above it."""
    lines = text.splitlines()
    here = mark.column
    above = [(i, ln) for i, ln in enumerate(lines[:mark.line])
             if ln.strip() and not ln.lstrip().startswith("#")]
    if problem.endswith("'-'") or "sequence" in problem:
        lists = [(i, len(ln) - len(ln.lstrip())) for i, ln in above
                 if ln.lstrip().startswith("- ") or ln.strip() == "-"]
        if lists:
            row, indent = lists[-1]
            way = "more" if here > indent else "less"
            return (f"indentation: this line is indented {way} than the list above it "
                    f"(line {row + 1}): line its '-' up with that list's")
        return "indentation: this '- ' item does not line up with anything above it"
    if above:
        row, prev = above[-1]
        indent = len(prev) - len(prev.lstrip())
        key = indent + 2 if prev.lstrip().startswith("- ") else indent
        way = "more" if here > key else "less"
        return (f"indentation: this line is indented {way} than the line above it "
                f"(line {row + 1}): line it up with the keys above, or start it with "
                "'- ' to make it a new list item")
    return "indentation: this line does not line up with the lines above it"
