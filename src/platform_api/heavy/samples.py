"""The sample codebases that the analysis endpoint offers, built from real Python source.

`platform-small` is this platform's own package; `platform-medium` adds a few standard-library
packages, so an analysis costs what analysing a mid-sized service would. Archives are zips with
sorted entries and fixed timestamps, so the same source gives the same bytes.
"""

from __future__ import annotations

import io
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import platform_api

FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
MEDIUM_STDLIB_PACKAGES = ("json", "email", "http", "logging", "asyncio", "importlib")


@dataclass(frozen=True)
class SampleArchive:
    name: str
    files: int
    archive: bytes


def build_samples() -> list[SampleArchive]:
    platform_root = Path(platform_api.__file__).parent
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    small = [(platform_root, "platform_api")]
    medium = small + [(stdlib / name, name) for name in MEDIUM_STDLIB_PACKAGES]
    return [_archive("platform-small", small), _archive("platform-medium", medium)]


def _archive(name: str, roots: list[tuple[Path, str]]) -> SampleArchive:
    entries: list[tuple[str, Path]] = []
    for root, prefix in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" not in path.parts:
                entries.append((f"{prefix}/{path.relative_to(root).as_posix()}", path))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, path in entries:
            info = zipfile.ZipInfo(arcname, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return SampleArchive(name=name, files=len(entries), archive=buffer.getvalue())
