"""The loadlab command line."""


def main() -> None:
    raise SystemExit("loadlab: not implemented yet")
