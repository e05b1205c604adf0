"""``python -m simsampling`` is the ``simsampling`` command."""

import sys

from .cli import command

if __name__ == "__main__":
    sys.exit(command())
