import sys

from vtn.cli import main

sys.exit(main())
