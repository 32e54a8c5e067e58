"""Every CUDA kernel compiles (nvcc, no GPU needed), so a syntax error never lands.

The neuron kernels are generated from the model declarations exactly as on the GPU.
"""

import shutil
import subprocess

import numpy as np
import pytest

from pyNN_neurongpu.engine import MODELS, Backend, Network
from pyNN_neurongpu.engine.gpu import GpuStep, codegen
from pyNN_neurongpu.engine.gpu.compiler import c_type, cuda_dir, static_source

NVCC = shutil.which("nvcc")
pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")

STATIC = ["delivery.cu", "spike_source_array.cu", "construction.cu", "plastic_synapses.cu",
          "procedural.cu"]
FRAGMENT_MODELS = sorted(name for name, m in MODELS.items()
                         if m.kernel_kind == "fragment")


def nvcc(source, tmp_path, name):
    path = tmp_path / f"{name}.cu"
    path.write_text(source)
    result = subprocess.run([NVCC, "-arch=sm_90", "-c", "-o", str(tmp_path / f"{name}.o"),
                             f"-I{cuda_dir()}", "--fmad=false", "-std=c++17", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def fields_of(model_name, dtype):
    """(name, dtype, writable) as the GPU step builds them, from a one-neuron CPU group."""
    net = Network(Backend("cpu", dtype), dt=0.1)
    group = net.add_neurons(model_name, 1).group
    group.prepare()
    fields, _ = codegen.kernel_fields(np, group)
    return group.model, fields


@pytest.mark.parametrize("real", ["double", "float"])
@pytest.mark.parametrize("filename", STATIC)
def test_static_kernels_compile(filename, real, tmp_path):
    nvcc(static_source(filename, real), tmp_path, filename[:-3])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("model_name", FRAGMENT_MODELS)
def test_generated_neuron_kernels_compile(model_name, dtype, tmp_path):
    source = codegen.fused_update_source([fields_of(model_name, dtype)], c_type(dtype))
    nvcc(source, tmp_path, model_name)


@pytest.mark.parametrize("two_lists", [False, True])
def test_fused_kernel_of_all_families_compiles(two_lists, tmp_path):
    families = [fields_of(name, "float64") for name in FRAGMENT_MODELS]
    source = codegen.fused_update_source(families, "double", two_lists=two_lists)
    assert ("(args)[(step) & 1]" in source) == two_lists
    nvcc(source, tmp_path, "all_families")


def test_every_family_has_a_gpu_kernel():
    """Every family but those declared array-code only (kernel_kind None: the precise
    _ps families and gif_cond_exp, for now) has a GPU kernel; a network with one of
    those runs the array-code step instead."""
    net = Network(Backend("cpu"), dt=0.1)
    for name, model in MODELS.items():
        if model.kernel_kind is not None:
            net.add_neurons(name, 1)
    assert GpuStep.supports(net)
    for name, model in MODELS.items():
        if model.kernel_kind is None:
            other = Network(Backend("cpu"), dt=0.1)
            other.add_neurons(name, 1)
            assert not GpuStep.supports(other), name


def test_uniform_parameters_are_read_once_per_warp():
    """A read-only field with one value for the whole family is read from its first
    element; one that varies, and every state variable, per neuron."""
    net = Network(Backend("cpu", "float64"), dt=0.1)
    group = net.add_neurons("iaf_psc_exp", 4, {"i_offset": np.array([0.1, 0.2, 0.3, 0.4]),
                                               "tau_m": 15.0}).group
    group.prepare()
    fields, _ = codegen.kernel_fields(np, group)
    flags = {name: (writable, uniform) for name, _, writable, uniform in fields}
    assert flags["tau_m"] == (False, True)
    assert flags["i_offset"] == (False, False)
    assert flags["v"] == (True, False)
    source = codegen.family_function_source(group.model, fields, "update_0")
    k = {name: j for j, (name, *_rest) in enumerate(fields)}
    assert f"const double tau_m = _p{k['tau_m']}[0];" in source
    assert f"const double i_offset = _p{k['i_offset']}[i];" in source
    assert f"double v = _p{k['v']}[i];" in source
