"""``python -m sample_data.demo``: the same as ``buzon demo`` (the README's first command).

Kept so the older way to start the demo still works; everything lives in
:mod:`buzon.commands.demo`.
"""

from __future__ import annotations

import sys

from buzon.cli import main

if __name__ == "__main__":
    sys.argv = ["buzon", "demo", *sys.argv[1:]]
    main()
