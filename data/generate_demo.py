"""Rebuild the embedded demo database: ``python data/generate_demo.py [--members N] [--seed S]``.

The dashboard creates it with the defaults on first run; this rebuilds it, for instance with
another size. The old database stays in place until the new one is complete.
"""

import argparse

from analytics.embedded import (
    DEFAULT_DEMO_MEMBERS,
    DEFAULT_DEMO_SEED,
    build_default_database,
    default_database,
)
from dashboard.cli import Progress

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=DEFAULT_DEMO_MEMBERS)
    parser.add_argument("--seed", type=int, default=DEFAULT_DEMO_SEED)
    args = parser.parse_args()
    build_default_database(members=args.members, seed=args.seed, progress=Progress())
    print(f"Rebuilt {default_database()}")
