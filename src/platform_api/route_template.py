"""Which requests a fault applies to: a route template or a prefix, never a user's regex.

A regular expression from the settings, run against every request's path on the event loop, let
one anonymous request with a crafted path freeze the server (`(a+)+$` against forty `a`s and a
`!`). A template is matched segment by segment, in time linear in the path's length:

- `/api/v1/workspaces` matches that path only;
- `{name}` matches any one segment: `/api/v1/workspaces/{workspace_id}` matches
  `/api/v1/workspaces/ab12` but not `/api/v1/workspaces/ab12/documents`;
- a last segment `*` matches whatever follows, nothing included: `/api/v1/workspaces/*` matches
  `/api/v1/workspaces` and everything under it.

The templates are those of `GET /openapi.json` and of the `route` label in `/metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TEMPLATE_CHARS = 500
# Characters of a regex that no route template holds: a value with them is an old-style pattern.
REGEX_CHARS = frozenset("^$()[]|+?\\")
_MARKS = frozenset("{}*")


@dataclass(frozen=True)
class RouteTemplate:
    text: str
    segments: tuple[str | None, ...]  # None: any one segment
    prefix: bool  # the template ended in `/*`

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        """The template, or ValueError saying what is wrong with it."""
        if len(text) > MAX_TEMPLATE_CHARS:
            raise ValueError(f"a route template has at most {MAX_TEMPLATE_CHARS} characters")
        regex = sorted(REGEX_CHARS.intersection(text))
        if regex:
            raise ValueError(
                f"a route template is not a regular expression ({' '.join(regex)} found): "
                "use a template such as /api/v1/workspaces/{workspace_id} or a prefix ending in /*"
            )
        if not text.startswith("/"):
            raise ValueError("a route template starts with / (e.g. /api/v1/workspaces/*)")
        parts = text[1:].split("/")
        if parts == [""]:
            parts = []
        prefix = bool(parts) and parts[-1] == "*"
        if prefix:
            parts = parts[:-1]
        segments: list[str | None] = []
        for part in parts:
            name = part[1:-1]
            if part.startswith("{") and part.endswith("}") and name and not _MARKS & set(name):
                segments.append(None)
            elif "{" in part or "}" in part or "*" in part:
                raise ValueError(
                    f"route template segment {part!r}: "
                    "{name} must be a whole segment, * the last one"
                )
            else:
                segments.append(part)
        return cls(text=text, segments=tuple(segments), prefix=prefix)

    def matches(self, path: str) -> bool:
        parts = path[1:].split("/") if path.startswith("/") else [path]
        if parts == [""]:
            parts = []
        if len(parts) < len(self.segments) or (
            not self.prefix and len(parts) != len(self.segments)
        ):
            return False
        return all(
            (part != "" if expected is None else part == expected)
            for expected, part in zip(self.segments, parts, strict=False)
        )


_SEGMENT = r"(?:\{[^/{}*^$()\[\]|+?\\]+\}|[^/{}*^$()\[\]|+?\\]*)"
# The same grammar as `RouteTemplate.parse`, for the OpenAPI schema only (clients and schemathesis
# read it); the check itself is `parse`, whose errors say what is wrong.
SCHEMA_PATTERN = rf"^/(?:{_SEGMENT}/)*(?:{_SEGMENT}|\*)$"


def route_template(value: str | None) -> str | None:
    """A pydantic validator: the text, checked (ValueError when it is not a template)."""
    if value is not None:
        RouteTemplate.parse(value)
    return value
