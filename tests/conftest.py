"""Fixtures shared by every test folder."""

from __future__ import annotations

import sys
from pathlib import Path

# Make tests/platform_server.py importable as a plain module from every test folder.
sys.path.insert(0, str(Path(__file__).parent))
