"""Static analysis of a Python codebase with `ast`: size, structure and cyclomatic complexity.

Complexity follows McCabe as most tools count it: 1 per function, plus 1 for each `if`/`elif`,
conditional expression, `for`/`async for`, `while`, `except` clause, `case` of a `match`,
comprehension `for` and `if`, and each extra operand of `and`/`or`. A nested function or class is
measured on its own and adds nothing to its parent; a lambda counts toward the function around it.

Archives are untrusted: only regular `.py` members are read, and the number of files and the
unpacked size are capped, so a zip bomb gets a 413 instead of the server's memory.
"""

from __future__ import annotations

import ast
import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from platform_api.errors import PayloadTooLarge, ValidationFailed
from platform_api.heavy.budget import Budget

MAX_FILES = 5_000
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
LARGEST_FUNCTIONS = 10
BRANCHES = (ast.If, ast.IfExp, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler, ast.match_case)


@dataclass(frozen=True)
class FunctionFigures:
    name: str
    file: str
    lines: int
    complexity: int


@dataclass
class CodebaseFigures:
    files: int = 0
    lines: int = 0
    classes: int = 0
    syntax_errors: int = 0
    functions: list[FunctionFigures] = field(default_factory=list)

    @property
    def average_complexity(self) -> float:
        if not self.functions:
            return 0.0
        return round(sum(f.complexity for f in self.functions) / len(self.functions), 2)

    @property
    def max_complexity(self) -> int:
        return max((f.complexity for f in self.functions), default=0)

    def largest(self, count: int = LARGEST_FUNCTIONS) -> list[FunctionFigures]:
        return sorted(self.functions, key=lambda f: (-f.lines, -f.complexity, f.file, f.name))[
            :count
        ]


@dataclass(frozen=True)
class CodebaseSummary:
    """What the endpoint answers: small, plain data, cheap to send back from a worker process."""

    files: int
    lines: int
    functions: int
    classes: int
    average_complexity: float
    max_complexity: int
    syntax_errors: int
    largest_functions: tuple[FunctionFigures, ...]


def summarise_archive(archive: bytes, budget: Budget) -> CodebaseSummary:
    """The work sent to the heavy process pool: bytes in, plain data out, no database."""
    figures = analyse_archive(archive, budget)
    return CodebaseSummary(
        files=figures.files,
        lines=figures.lines,
        functions=len(figures.functions),
        classes=figures.classes,
        average_complexity=figures.average_complexity,
        max_complexity=figures.max_complexity,
        syntax_errors=figures.syntax_errors,
        largest_functions=tuple(figures.largest()),
    )


def analyse_archive(archive: bytes, budget: Budget) -> CodebaseFigures:
    figures = CodebaseFigures()
    for path, source in python_files(archive):
        budget.check()
        analyse_file(figures, path, source)
    return figures


def analyse_file(figures: CodebaseFigures, path: str, source: str) -> None:
    figures.files += 1
    figures.lines += source.count("\n") + (0 if not source or source.endswith("\n") else 1)
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # CPython's parser reports nesting too deep for its stack as MemoryError or RecursionError.
        figures.syntax_errors += 1
        return
    functions, classes = _measure(path, tree)
    figures.functions.extend(functions)
    figures.classes += classes


def complexity(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The function's own complexity (its nested functions and classes are measured apart)."""
    functions, _classes = _measure("", function)
    return functions[0].complexity


def _measure(path: str, root: ast.AST) -> tuple[list[FunctionFigures], int]:
    """Every function under `root` (and `root` itself if it is one), outer before inner, and the
    number of classes.

    One walk over the tree, each node visited once: a node's branches count toward the innermost
    function around it, unless a class lies between them (the old walk, once for the file and once
    more per function, spent half of an analysis going over the same nodes again). An explicit
    stack: generated code can nest deeper than Python's recursion limit allows.
    """
    found: list[tuple[str, int, list[int]]] = []  # name, lines, [complexity], in walk order
    classes = 0
    stack: list[tuple[ast.AST, str, list[int] | None]] = (
        [(root, root.name + ".", _found(found, root.name, root))]
        if isinstance(root, ast.FunctionDef | ast.AsyncFunctionDef)
        else [(root, "", None)]
    )
    while stack:
        node, prefix, score = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = prefix + child.name
                stack.append((child, name + ".", _found(found, name, child)))
                continue
            if isinstance(child, ast.ClassDef):
                classes += 1
                stack.append((child, prefix + child.name + ".", None))
                continue
            if score is not None:
                if isinstance(child, BRANCHES):
                    score[0] += 1
                elif isinstance(child, ast.BoolOp):
                    score[0] += len(child.values) - 1
                elif isinstance(child, ast.comprehension):
                    score[0] += 1 + len(child.ifs)
            stack.append((child, prefix, score))
    return [FunctionFigures(name, path, lines, score[0]) for name, lines, score in found], classes


def _found(
    found: list[tuple[str, int, list[int]]],
    name: str,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
) -> list[int]:
    score = [1]
    end = function.end_lineno or function.lineno
    found.append((name, end - function.lineno + 1, score))
    return score


def python_files(archive: bytes) -> Iterator[tuple[str, str]]:
    """The `.py` members of a zip or tar.gz archive, as (path, text), in archive order."""
    if archive.startswith(b"PK\x03\x04"):
        yield from _zip_members(archive)
    elif archive.startswith(b"\x1f\x8b"):
        yield from _tar_members(archive)
    else:
        raise _invalid("archive_base64 must be a zip or a tar.gz archive")


def _zip_members(archive: bytes) -> Iterator[tuple[str, str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
            members = [
                m for m in bundle.infolist() if m.filename.endswith(".py") and not m.is_dir()
            ]
            _check_limits(len(members), sum(m.file_size for m in members))
            for member in members:
                data = bundle.read(member)
                yield member.filename, data.decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        raise _invalid(f"the zip archive cannot be read: {exc}") from exc
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, or an unknown compression
        raise _invalid(f"the zip archive cannot be read: {exc}") from exc


def _tar_members(archive: bytes) -> Iterator[tuple[str, str]]:
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as bundle:
            members = [m for m in bundle.getmembers() if m.isfile() and m.name.endswith(".py")]
            _check_limits(len(members), sum(m.size for m in members))
            for member in members:
                handle = bundle.extractfile(member)
                if handle is not None:
                    yield member.name, handle.read().decode("utf-8", errors="replace")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise _invalid(f"the tar.gz archive cannot be read: {exc}") from exc


def _check_limits(files: int, unpacked_bytes: int) -> None:
    if files > MAX_FILES:
        raise PayloadTooLarge(f"The archive has {files} Python files; the limit is {MAX_FILES}")
    if unpacked_bytes > MAX_UNPACKED_BYTES:
        raise PayloadTooLarge(
            f"The archive unpacks to {unpacked_bytes} bytes; the limit is {MAX_UNPACKED_BYTES}"
        )


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(
        message,
        details=[{"loc": ["body", "archive_base64"], "msg": message, "type": "value_error"}],
    )
