"""The platform-api command line."""


def main() -> None:
    raise SystemExit("platform-api: not implemented yet")
