"""`python -m gateway ...` is `support-gateway ...` (benchmarks and tests start the daemon this way)."""

import sys

from gateway.ops.cli import main

sys.exit(main())
