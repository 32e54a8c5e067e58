"""The expression layer (engine/models/expressions.py): one description rendered to array
code and to CUDA text gives the same bits; the CUDA text is compiled as host C++ (no
GPU needed), the array code run with NumPy."""

import math
import shutil
import subprocess

import numpy as np
import pytest

from pyNN_neurongpu.engine.models.expressions import (
    Assign,
    Bin,
    CudaRenderer,
    If,
    Let,
    Lit,
    Name,
    PerPrecision,
    Spike,
    XpRenderer,
    compile_xp,
    exp,
    fmin,
    ge,
    gt,
    mad,
    select,
)

CXX = shutil.which("g++")
N = 2000
INPUTS = ("x", "y", "z")
STATE = {"u": "real", "k": "int"}

# a new term, as a model would declare it: every kind of node and statement
STATEMENTS = [
    Let("q", mad(-Name("x"), Name("y") - Name("z"), Name("u")), const=False),
    Let("cap", PerPrecision(40.0, 700.0)),
    Let("e", select(gt("x", Lit(0, c="0")), exp(fmin(Name("y") * Name("z"), "cap")),
                    Lit(0.0, c="(real)0"))),
    Assign("q", mad("x", "y", -Name("q")) * Name("z") + Name("e") / (Name("x") + 3.0)),
    If(gt("k", Lit(0, c="0")),
       (Assign("k", Lit(1, c="1"), op="-"), Assign("u", Name("q") - 1.0 / Name("z"))),
       (If(ge("q", "y"), (Assign("k", Lit(3, c="3")), Assign("u", Name("x")), Spike()),
           (Assign("u", Name("q")),)),)),
]


class _Libm:
    """NumPy with the C library's exp (as the compiled code uses it; NumPy's own may
    differ in the last bit)."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def exp(x):
        return np.vectorize(math.exp, otypes=[np.float64])(x)


def _xp_run(statements, data):
    body = XpRenderer(lambda n: f"s[{n!r}]").lines(statements)
    fn = compile_xp("term", "xp, s", body, prologue=["real32 = False", "spiked = None"],
                    epilogue=["return spiked"], errstate=True)
    s = {k: v.copy() for k, v in data.items()}
    spiked = fn(_Libm(), s)
    return s["u"], s["k"], np.asarray(spiked, dtype=np.int32)


def _host_run(statements, data, tmp_path, renderer=None):
    renderer = renderer or CudaRenderer(lambda n: n)
    body = renderer.lines(statements, depth=2)
    names = [*INPUTS, *STATE]
    program = "\n".join([
        "#include <cmath>", "#include <cstdio>", "#include <vector>",
        "typedef double real;", "using std::exp; using std::fmin;",
        f"const int N = {N};",
        "int main(int argc, char** argv) {",
        "    FILE* f = fopen(argv[1], \"rb\");",
        *[f"    std::vector<{'int' if STATE.get(n) == 'int' else 'real'}> {n}_a(N);"
          for n in names],
        *[f"    if (fread({n}_a.data(), sizeof({n}_a[0]), N, f) != (size_t)N) return 1;"
          for n in names],
        "    fclose(f);",
        "    std::vector<int> spikes(N);",
        "    for (int i = 0; i < N; ++i) {",
        *[f"        const real {n} = {n}_a[i];" for n in INPUTS],
        "        real u = u_a[i];", "        int k = k_a[i];", "        int n_spikes = 0;",
        *body,
        "        u_a[i] = u; k_a[i] = k; spikes[i] = n_spikes;",
        "    }",
        "    FILE* out = fopen(argv[2], \"wb\");",
        "    fwrite(u_a.data(), sizeof(real), N, out);",
        "    fwrite(k_a.data(), sizeof(int), N, out);",
        "    fwrite(spikes.data(), sizeof(int), N, out);",
        "    fclose(out);",
        "    return 0;",
        "}"])
    (tmp_path / "term.cpp").write_text(program)
    exe = tmp_path / "term"
    build = subprocess.run([CXX, "-std=c++17", "-O0", "-ffp-contract=off", "-o", str(exe),
                            str(tmp_path / "term.cpp")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    with open(tmp_path / "in.bin", "wb") as f:
        for n in names:
            f.write(np.ascontiguousarray(data[n]).tobytes())
    run = subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")])
    assert run.returncode == 0
    raw = np.fromfile(tmp_path / "out.bin", dtype=np.uint8)
    u = raw[:8 * N].copy().view(np.float64)
    k = raw[8 * N:12 * N].copy().view(np.int32)
    spikes = raw[12 * N:].copy().view(np.int32)
    return u, k, spikes


def _data():
    rng = np.random.default_rng(3)
    return {"x": rng.uniform(-2, 2, N), "y": rng.uniform(-3, 3, N),
            "z": rng.uniform(0.5, 4, N), "u": rng.uniform(-1, 1, N),
            "k": rng.integers(0, 3, N).astype(np.int32)}


def _assert_same(a, b):
    for got, want in zip(a, b):
        np.testing.assert_array_equal(got, want)


@pytest.mark.skipif(CXX is None, reason="no host C++ compiler")
def test_new_term_renders_the_same_bits(tmp_path):
    data = _data()
    xp_result = _xp_run(STATEMENTS, data)
    host_result = _host_run(STATEMENTS, data, tmp_path)
    # every branch is taken by some neuron
    assert 0 < xp_result[2].sum() < N
    assert len(np.unique(xp_result[1])) >= 3
    _assert_same(host_result, xp_result)


class _NoParens(CudaRenderer):
    """A renderer that forgets the parentheses precedence asks for."""

    def expr(self, e, level: int = 0) -> str:
        return self._expr(self.lower(e))


@pytest.mark.skipif(CXX is None, reason="no host C++ compiler")
def test_diverging_renderings_are_caught(tmp_path):
    data = _data()
    xp_result = _xp_run(STATEMENTS, data)
    host_result = _host_run(STATEMENTS, data, tmp_path, renderer=_NoParens(lambda n: n))
    with pytest.raises(AssertionError):
        _assert_same(host_result, xp_result)


def test_precedence_and_mad_forms():
    a, b, c, d = (Name(n) for n in "abcd")
    term = mad(a, b - c, -d) * c
    assert XpRenderer(lambda n: n).expr(term) == "(a * (b - c) - d) * c"
    assert CudaRenderer(lambda n: n).expr(term) == "(-d + a * (b - c)) * c"
    assert CudaRenderer(lambda n: n, fused=True).expr(term) == \
        "mad<NEURONGPU_FAST_RK>(a, (b - c), -d) * c"
    assert XpRenderer(lambda n: n).expr(mad(-a, b, c)) == "c - a * b"
    assert CudaRenderer(lambda n: n).expr(a - (b - c)) == "a - (b - c)"
    assert CudaRenderer(lambda n: n).expr(Bin("/", Lit(1.0, c="(real)1"),
                                              select(gt("a", Lit(0, c="0")), a, c))) == \
        "(real)1 / (a > 0 ? a : c)"


def test_if_renders_to_masked_updates():
    statements = [If(gt("k", Lit(0, c="0")), (Assign("k", Lit(1, c="1"), op="-"),),
                     (Assign("u", Name("x")), Spike()))]
    lines = XpRenderer(lambda n: n).lines(statements)
    assert lines == ["_m1 = (k > 0)", "k = xp.where(_m1, k - 1, k)",
                     "u = xp.where(_m1, u, x)", "spiked = ~_m1"]
    assert CudaRenderer(lambda n: n).lines(statements) == [
        "if (k > 0) {", "    k -= 1;", "} else {", "    u = x;", "    n_spikes = 1;", "}"]
