"""Run `fsconf serve` or `fsconf sim` under cProfile (bench.run --profile); stats on exit.

    python -m bench.profiled OUT.prof serve --config ... --port ...
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import cProfile  # noqa: E402
import sys  # noqa: E402

from fsconf.cli.main import main  # noqa: E402

if __name__ == "__main__":
    out, argv = sys.argv[1], sys.argv[2:]
    profiler = cProfile.Profile()
    try:
        profiler.runcall(main, argv)
    finally:
        profiler.dump_stats(out)
