"""One batch on one Prefect worker, then split over two: the wall time and the sessions.

Real parts only, as a region runs them (bench/scale.py): a Prefect server on PostgreSQL
(a database of its own), the checkpoint store on PostgreSQL, the sandbox, `rpa deploy`
for a process work pool, and `prefect worker start` once or twice (each worker one run at
a time). Each setting gets a fresh sandbox of the same routine cases and a fresh region.
The batch's wall time is from creating its run to its end, as an operator sees it,
workers' process start-up included. Prints one JSON line per setting, then a table.

    .venv/bin/python benchmarks/scale_out.py --cases 200 --lanes 2 --max-sessions 4

On one machine two workers share its cores: the figure shows what splitting costs and
what it gives when the machine has room; on N machines each part has its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seeds
from bench.scale import region


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--lanes", type=int, default=2, help="lanes per batch run or part")
    parser.add_argument("--max-sessions", type=int, default=4)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "RPA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server to make the two databases on (dropped after)",
    )
    args = parser.parse_args()
    seed = seeds.routine_seed(args.cases, seed=5)
    lines = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory(prefix="rpa-scale-") as tmp:
            print(f"{workers} worker(s): starting the region...", file=sys.stderr, flush=True)
            with region(Path(tmp), seed, args.postgres, max_sessions=args.max_sessions) as up:
                up.start_workers(workers)
                run = up.run_batch({"parts": workers, "concurrency": args.lanes}, timeout_s=3600)
                statuses = [n["status"] for n in up.state()["notifications"]]
                line = {
                    "workers": workers,
                    "parts": workers,
                    "lanes_per_part": args.lanes,
                    "max_sessions": args.max_sessions,
                    "cases": args.cases,
                    "state": run["state"]["type"],
                    "wall_s": round(run["wall_s"], 1),
                    "cases_per_s": round(args.cases / run["wall_s"], 2),
                    "registered": statuses.count("registered"),
                    "peak_sessions": up.sessions()["peak"],
                }
        print(json.dumps(line), flush=True)
        lines.append(line)
    print("\nworkers  cases  wall s  cases/s  registered  peak sessions (limit)")
    for line in lines:
        print(
            f"{line['workers']:>7}  {line['cases']:>5}  {line['wall_s']:>6}  "
            f"{line['cases_per_s']:>7}  {line['registered']:>10}  "
            f"{line['peak_sessions']:>5} ({line['max_sessions']})"
        )


if __name__ == "__main__":
    main()
