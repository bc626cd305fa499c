"""Project generation: render a scaffold of exactly N files and deflate it into a zip.

Every generated Python module is compiled before it is shipped, so a template bug fails here and
not in the user's first test run. The cost grows with N (a rendering, a compilation and a
compression per file), so a load test that asks for 300 files measures something repeatable. The
budget is checked after every file.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from string import Template

from platform_api.heavy.budget import Budget
from platform_api.heavy.scaffolds import DEPENDENCIES, SCAFFOLDS, TEST_TARGETS

MAX_FILES = 500
FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def generate_project(*, name: str, template: str, files: int, budget: Budget) -> bytes:
    """A zip whose entries all sit under `name/`; `files` entries exactly."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for count, (path, content) in enumerate(_rendered(name, template, files), start=1):
            if path.endswith(".py"):
                compile(content, f"{name}/{path}", "exec", dont_inherit=True)
            info = zipfile.ZipInfo(f"{name}/{path}", date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
            budget.check()
            if count == files:
                break
    return buffer.getvalue()


def _rendered(name: str, template: str, files: int) -> Iterator[tuple[str, str]]:
    scaffold = SCAFFOLDS[template]
    values = {
        "name": name,
        "package": name,
        "template": template,
        "files": str(files),
        "dependencies": DEPENDENCIES[template],
    }
    for path, body in scaffold.fixed:
        yield _render(path, values), _render(body, values)
    import_path, function, empty = TEST_TARGETS[template]
    index = 0
    while True:
        index += 1
        resource = {
            **values,
            "index": f"{index:03d}",
            "resource": f"resource_{index:03d}",
            "resource_class": f"Resource{index:03d}",
        }
        yield _render(scaffold.module_path, resource), _render(scaffold.module, resource)
        test_values = {
            **resource,
            "import_path": _render(import_path, resource),
            "function": _render(function, resource),
            "empty": empty,
        }
        yield _render(scaffold.test_path, test_values), _render(scaffold.test, test_values)


def _render(text: str, values: dict[str, str]) -> str:
    return Template(text).substitute(values)
