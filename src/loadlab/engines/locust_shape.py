"""Which LoadTestShape Locust will follow for a locustfile, found before the run starts.

Locust takes the first LoadTestShape subclass among the locustfile module's attributes, imported
classes included (`from shapes import StagesShape`). A class the file defines on LoadTestShape is
read from its source; a file that imports only from Locust and the standard library can hold no
other. Anything else is asked of Locust's own loader, in a short subprocess: importing a user's
locustfile here would patch loadlab's interpreter with gevent and run the suite's module code.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

from loadlab.errors import UsageError

PROBE_TIMEOUT_S = 60.0

# Standard-library names through which a module binds what no import statement shows.
_DYNAMIC = frozenset({"importlib", "runpy", "__import__", "exec", "eval", "globals", "setattr"})

# Run by the interpreter that runs Locust (it imports loadlab's plugin, so it is this one).
_PROBE = """
import json, sys
answer = sys.stdout
sys.stdout = sys.stderr  # what the locustfile prints at import is not the answer
from locust.util.load_locustfile import load_locustfile
_, shapes = load_locustfile(sys.argv[1])
answer.write(json.dumps([type(shape).__name__ for shape in shapes]))
"""


def own_shape(script: Path) -> str | None:
    """The name of the shape class Locust will follow, or None when the file defines none."""
    try:
        tree = ast.parse(script.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return None  # Locust itself will say what is wrong with the file
    defined = _defined_shape(tree)
    if defined is not None:
        return defined
    if _plainly_static(tree):
        return None
    path = script.resolve()
    return _probe(str(path), path.stat().st_mtime_ns)


def _defined_shape(tree: ast.Module) -> str | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            (isinstance(base, ast.Name) and base.id == "LoadTestShape")
            or (isinstance(base, ast.Attribute) and base.attr == "LoadTestShape")
            for base in node.bases
        ):
            return node.name
    return None


def _plainly_static(tree: ast.Module) -> bool:
    """True when every name the module binds comes from its own code, Locust or the standard
    library: then a shape would be a class defined here, and `_defined_shape` saw them all."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import: a module of the user's
                return False
            modules = [node.module or ""]
        elif isinstance(node, ast.Name) and node.id in _DYNAMIC:
            return False
        else:
            continue
        for module in modules:
            top = module.partition(".")[0]
            if top in _DYNAMIC or not (top == "locust" or top in sys.stdlib_module_names):
                return False
    return True


@functools.lru_cache(maxsize=16)  # a capacity search plans every step from the same file
def _probe(path: str, _mtime_ns: int) -> str | None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, path],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"locustfile {path} took more than {PROBE_TIMEOUT_S:g} s to import (loadlab imports "
            "it to find its LoadTestShape)",
            hint="keep waits and network calls out of its module level (in on_start or an "
            "init event listener instead)",
        ) from None
    if done.returncode != 0:
        return None  # Locust itself will say what is wrong when it loads the file
    try:
        names = json.loads(done.stdout)
    except json.JSONDecodeError:
        return None
    return str(names[0]) if isinstance(names, list) and names else None
