"""Static analysis of a Python codebase with `ast`: size, structure and cyclomatic complexity.

Complexity follows McCabe as most tools count it: 1 per function, plus 1 for each `if`/`elif`,
conditional expression, `for`/`async for`, `while`, `except` clause, `case` of a `match`,
comprehension `for` and `if`, and each extra operand of `and`/`or`. A nested function or class is
measured on its own and adds nothing to its parent; a lambda counts toward the function around it.

Archives are untrusted: only regular `.py` members are read, and the number of files and the
unpacked size are capped, so a zip bomb gets a 413 instead of the server's memory.

Analysis is incremental, as code-analysis services do it: parsing is nearly all of the cost
(~1.8 CPU-seconds for the seeded `platform-medium`, every request, while load tests ask for the
same few samples again and again), so each file's figures are kept by the digest of its content,
in a cache of each process that runs the work (a pool process, or the server with no pool).
What is kept does not depend on the file's path: a file met again, under any path, in any archive,
is not parsed again, and its functions are reported under the path it has now. The cache is an
LRU of `PLATFORM_ANALYSIS_CACHE_FILES` files (0: none, every file parsed, the full cost), and
answers are the same with it or without it; `cached_files` says how many files it gave.
"""

from __future__ import annotations

import ast
import hashlib
import io
import tarfile
import threading
import zipfile
import zlib
from collections import OrderedDict
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
    cached_files: int = 0

    def add(self, path: str, file: FileFigures) -> None:
        self.files += 1
        self.lines += file.lines
        self.classes += file.classes
        self.syntax_errors += int(file.syntax_error)
        self.functions.extend(
            FunctionFigures(name, path, lines, score) for name, lines, score in file.functions
        )

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
    cached_files: int


@dataclass(frozen=True)
class FileFigures:
    """One file's figures that its content alone decides, whatever its path: what is cached."""

    lines: int
    classes: int
    syntax_error: bool
    functions: tuple[tuple[str, int, int], ...]  # name, lines, complexity; outer before inner


class FileCache:
    """File figures by content digest, the `max_files` most recently used.

    A lock around each operation: with no pool (`PLATFORM_HEAVY_PROCESSES=0`) request threads of
    the server share the cache. Two of them missing the same file both parse it, and the second
    `put` replaces the first's equal figures.
    """

    def __init__(self, max_files: int) -> None:
        self.max_files = max_files
        self._files: OrderedDict[bytes, FileFigures] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, digest: object) -> bool:
        return digest in self._files

    def get(self, digest: bytes) -> FileFigures | None:
        with self._lock:
            file = self._files.get(digest)
            if file is not None:
                self._files.move_to_end(digest)
            return file

    def put(self, digest: bytes, file: FileFigures) -> None:
        with self._lock:
            self._files[digest] = file
            self._files.move_to_end(digest)
            self._evict()

    def resize(self, max_files: int) -> None:
        with self._lock:
            self.max_files = max_files
            self._evict()

    def _evict(self) -> None:
        while len(self._files) > self.max_files:
            self._files.popitem(last=False)


# This process's cache; its bound comes with each call, from the server's settings.
_PROCESS_CACHE = FileCache(0)


def process_cache(max_files: int) -> FileCache | None:
    """This process's cache bounded to `max_files`; None for 0 (no cache)."""
    _PROCESS_CACHE.resize(max_files)
    return _PROCESS_CACHE if max_files else None


def content_digest(source: str) -> bytes:
    return hashlib.blake2b(source.encode("utf-8"), digest_size=16).digest()


def summarise_archive(archive: bytes, budget: Budget, *, cache_files: int) -> CodebaseSummary:
    """The work sent to the heavy process pool: bytes in, plain data out, no database.

    `cache_files` bounds this process's cache of file figures (`PLATFORM_ANALYSIS_CACHE_FILES`,
    passed with each call because a spawned process does not have the server's settings).
    """
    return summarise(analyse_archive(archive, budget, cache=process_cache(cache_files)))


def summarise(figures: CodebaseFigures) -> CodebaseSummary:
    """What an answer needs of an analysis's figures (the largest functions, not all of them)."""
    return CodebaseSummary(
        files=figures.files,
        lines=figures.lines,
        functions=len(figures.functions),
        classes=figures.classes,
        average_complexity=figures.average_complexity,
        max_complexity=figures.max_complexity,
        syntax_errors=figures.syntax_errors,
        largest_functions=tuple(figures.largest()),
        cached_files=figures.cached_files,
    )


def analyse_archive(
    archive: bytes, budget: Budget, *, cache: FileCache | None = None
) -> CodebaseFigures:
    """Every `.py` file of the archive, one budget check per file, cached or not."""
    figures = CodebaseFigures()
    for path, source in python_files(archive):
        budget.check()
        if cache is None:
            figures.add(path, measure_file(source))
            continue
        digest = content_digest(source)
        file = cache.get(digest)
        if file is None:
            file = measure_file(source)
            cache.put(digest, file)
        else:
            figures.cached_files += 1
        figures.add(path, file)
    return figures


def measure_file(source: str) -> FileFigures:
    """Parse one file. No path: what comes out must hold for the same content under any path."""
    lines = source.count("\n") + (0 if not source or source.endswith("\n") else 1)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # CPython's parser reports nesting too deep for its stack as MemoryError or RecursionError.
        return FileFigures(lines, 0, True, ())
    functions, classes = _measure(tree)
    return FileFigures(lines, classes, False, functions)


def complexity(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The function's own complexity (its nested functions and classes are measured apart)."""
    functions, _classes = _measure(function)
    return functions[0][2]


def _measure(root: ast.AST) -> tuple[tuple[tuple[str, int, int], ...], int]:
    """Every function under `root` (and `root` itself if it is one) as (name, lines, complexity),
    outer before inner, and the number of classes.

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
    return tuple((name, lines, score[0]) for name, lines, score in found), classes


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
