"""pytest on every MPI rank (tests/mpi/test_mpi.py runs PyNN's scenarios with it):
``mpiexec -n 2 python tests/mpi/run_pytest.py BASETEMP ARGS...``; each rank has its own
temporary folder and output, and the exit status is the worst of all ranks."""

import sys
from pathlib import Path

import pytest
from mpi4py import MPI


class Outcomes:
    """Counts this rank's test outcomes (the ranks' own summaries interleave)."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def pytest_runtest_logreport(self, report):
        if report.skipped:
            self.skipped += 1
        elif report.failed:
            self.failed += 1
        elif report.when == "call":
            self.passed += 1


comm = MPI.COMM_WORLD
base = Path(sys.argv[1], f"rank{comm.rank}")
outcomes = Outcomes()
code = int(pytest.main(["-q", "--color=no", "-p", "no:cacheprovider", "--basetemp", str(base),
                        *sys.argv[2:]], plugins=[outcomes]))
codes = comm.allgather(code)
print(f"rank {comm.rank}: {outcomes.passed} passed, {outcomes.failed} failed, "
      f"{outcomes.skipped} skipped; pytest exit status {code}; all ranks {codes}")
sys.exit(max(codes))
