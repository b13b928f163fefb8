"""``python -m counterpoise`` and the ``counterpoise`` console script."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command line; without its extra, say which one to install (exit code 2)."""
    try:
        # imported here: the command line is the optional ``cli`` extra
        from .cli import main as cli_main
    except ModuleNotFoundError as error:
        if not str(error).endswith("]'"):  # not a missing extra (see _optional.require)
            raise
        print(f"counterpoise: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    cli_main()


if __name__ == "__main__":
    main()
