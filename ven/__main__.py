import sys

from ven.cli import main

sys.exit(main())
