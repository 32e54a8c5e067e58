"""MPI on the GPU: ranks sharing one card run the networks of tests/mpi/networks.py in
float64 and must give the one-process GPU run's spikes and weights (membrane traces to
rounding: the order of atomic float additions into a ring-buffer slot is not fixed on a
GPU, with one rank or several)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import HAVE_GPU
from tests.mpi.test_mpi import MPI_TIMEOUT, MPIEXEC, NETWORKS, mpirun

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU"),
              pytest.mark.skipif(MPIEXEC is None, reason="needs mpi4py and mpiexec")]

KINDS = ("numpy", "native", "stdp", "local")


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpu_one_process")
    out = {}
    for kind in KINDS:
        path = folder / f"{kind}.npz"
        env = dict(os.environ, MPI_NETWORKS_BACKEND="gpu")
        if kind == "stdp":  # the array-code step, which plastic networks take under MPI
            env["PYNN_NEURONGPU_PLASTIC_KERNELS"] = "0"
        subprocess.run([sys.executable, str(NETWORKS), kind, str(path)], check=True,
                       timeout=MPI_TIMEOUT, env=env)
        out[kind] = dict(np.load(path))
    return out


@pytest.mark.parametrize("ranks", [2, 4])
@pytest.mark.parametrize("kind", KINDS)
def test_ranks_sharing_a_gpu_give_the_one_process_spikes(kind, ranks, one_process, tmp_path):
    path = tmp_path / "out.npz"
    mpirun(ranks, NETWORKS, kind, path, backend="gpu")
    got, want = dict(np.load(path)), one_process[kind]
    assert int(got.pop("ranks")[0]) == ranks
    exchange = got.pop("exchange")
    # the fused GPU step runs static networks; STDP under MPI takes the array-code step
    assert bool(got.pop("gpu_step")[0]) == (kind != "stdp")
    got.pop("compiled")
    want = {k: v for k, v in want.items()
            if k not in ("ranks", "exchange", "gpu_step", "compiled")}
    assert sorted(got) == sorted(want)
    for key in want:
        if key.startswith("v_"):
            np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-9, err_msg=key)
        else:
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    assert sum(want[k].shape[0] for k in want if k.startswith("spikes_")) > 50
    assert exchange[:, 1].min() > 0  # every rank took part in every exchange
    if kind == "local":
        assert exchange[:, 2].sum() == 0
    else:
        assert exchange[:, 2].min() > 0
