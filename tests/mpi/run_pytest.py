"""pytest on every MPI rank (tests/test_mpi.py runs PyNN's scenarios with it):
``mpiexec -n 2 python tests/mpi/run_pytest.py BASETEMP ARGS...``; each rank has its own
temporary folder and output, and the exit status is the worst of all ranks."""

import sys
from pathlib import Path

import pytest
from mpi4py import MPI

comm = MPI.COMM_WORLD
base = Path(sys.argv[1], f"rank{comm.rank}")
code = int(pytest.main(["-q", "--color=no", "-p", "no:cacheprovider", "--basetemp", str(base),
                        *sys.argv[2:]]))
codes = comm.allgather(code)
print(f"rank {comm.rank}: pytest exit status {code}; all ranks {codes}")
sys.exit(max(codes))
