"""``python -m counterpoise``: the same as the ``counterpoise`` command."""

from .cli import main

if __name__ == "__main__":
    main()
