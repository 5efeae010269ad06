"""``python -m tradepact.cli`` = the ``tradepact`` command."""
import sys

from tradepact.cli import main

sys.exit(main())
