"""`python -m momentum …` is the `momentum` command."""

import sys

from .cli import main

sys.exit(main())
