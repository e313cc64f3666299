"""`python -m zkmargin.service ...`: the old name of `python -m zkmargin.verifier_service ...`, same options."""

from __future__ import annotations

import sys

from zkmargin.verifier_service.__main__ import main

if __name__ == "__main__":
    # stderr, not a warning filter: scripts that start the server should see the new name without any setup.
    print("zkmargin.service is now zkmargin.verifier_service (docs/service-migration.md); "
          "`python -m zkmargin.service` still works.", file=sys.stderr)
    main()
