"""A small expression and statement layer: dynamics written once, rendered to array code
(NumPy or CuPy, ``xp``) and to CUDA text.

Expressions: names, literals, ``+ - * /``, unary minus, comparisons, ``mad(a, b, c)``
(c + a * b; fused on the GPU where the renderer asks for it), ``fmin``, ``exp``,
``select(cond, a, b)``, this step's input to a receptor, and literals that depend on the
precision. Statements: ``Let`` (a local), ``Assign``, ``Deriv`` (a component of dy/dt),
``If`` and ``Spike``.

Both renderers keep the tree's order of operations, so a CPU run and the GPU's unfused
code give the same bits: the array renderer turns ``If`` into masked ``where`` updates
(a statement under a mask sees, where the mask holds, the values the sequential code
sees) and spells ``mad`` as ``c + a * b`` (``c - a * b`` for ``mad(-a, b, c)``,
``a * b - c`` for ``mad(a, b, -c)``: the same roundings). Names are resolved by the
caller, per renderer (a state component may be ``y[0]`` in a right-hand side and ``v``
elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# -- expressions ---------------------------------------------------------------------------
class Expr:
    """Base of the expression nodes; the arithmetic operators build trees."""

    def __add__(self, other):
        return Bin("+", self, lift(other))

    def __radd__(self, other):
        return Bin("+", lift(other), self)

    def __sub__(self, other):
        return Bin("-", self, lift(other))

    def __rsub__(self, other):
        return Bin("-", lift(other), self)

    def __mul__(self, other):
        return Bin("*", self, lift(other))

    def __rmul__(self, other):
        return Bin("*", lift(other), self)

    def __truediv__(self, other):
        return Bin("/", self, lift(other))

    def __rtruediv__(self, other):
        return Bin("/", lift(other), self)

    def __neg__(self):
        return Neg(self)


@dataclass(frozen=True, eq=True)
class Name(Expr):
    name: str


@dataclass(frozen=True, eq=True)
class Lit(Expr):
    """A literal; ``c`` is its CUDA spelling (default ``(real)<value>``)."""
    value: float | int | bool
    c: str | None = None


@dataclass(frozen=True, eq=True)
class PerPrecision(Expr):
    """A literal whose value depends on the precision (float32, float64)."""
    f32: float
    f64: float


@dataclass(frozen=True, eq=True)
class Input(Expr):
    """This step's input to receptor ``port`` (its index among the family's ports)."""
    port: str
    index: int


@dataclass(frozen=True, eq=True)
class Bin(Expr):
    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=True)
class Neg(Expr):
    a: Expr


@dataclass(frozen=True, eq=True)
class Cmp(Expr):
    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=True)
class Call(Expr):
    fn: str            # "fmin" or "exp"
    args: tuple


@dataclass(frozen=True, eq=True)
class Mad(Expr):
    """c + a * b."""
    a: Expr
    b: Expr
    c: Expr


@dataclass(frozen=True, eq=True)
class Select(Expr):
    cond: Expr
    a: Expr
    b: Expr


def lift(x) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, str):
        return Name(x)
    return Lit(x)


def mad(a, b, c) -> Mad:
    return Mad(lift(a), lift(b), lift(c))


def fmin(a, b) -> Call:
    return Call("fmin", (lift(a), lift(b)))


def exp(a) -> Call:
    return Call("exp", (lift(a),))


def select(cond, a, b) -> Select:
    return Select(lift(cond), lift(a), lift(b))


def gt(a, b) -> Cmp:
    return Cmp(">", lift(a), lift(b))


def ge(a, b) -> Cmp:
    return Cmp(">=", lift(a), lift(b))


def eq(a, b) -> Cmp:
    return Cmp("==", lift(a), lift(b))


# -- statements ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Let:
    """A local variable (``ctype`` its CUDA type; ``const`` unless assigned again)."""
    name: str
    expr: Expr
    ctype: str = "real"
    const: bool = True


@dataclass(frozen=True)
class Assign:
    """``target = expr``; with ``op`` ("-", "+"): ``target op= expr``."""
    target: str
    expr: Expr
    op: str | None = None


@dataclass(frozen=True)
class Deriv:
    """Row ``row`` of the right-hand side's result."""
    row: int
    expr: Expr


@dataclass(frozen=True)
class If:
    """``then`` where ``cond`` holds, else ``orelse`` (a list, or one nested If);
    ``braces=False`` writes a single statement without braces in CUDA."""
    cond: Expr
    then: tuple
    orelse: tuple = ()
    braces: bool = True


@dataclass(frozen=True)
class Spike:
    """The neuron spikes this step."""


# -- CUDA ----------------------------------------------------------------------------------
_PREC = {"select": 1, "cmp": 3, "+": 4, "-": 4, "*": 5, "/": 5, "neg": 6, "atom": 7}


def _prec(e) -> int:
    if isinstance(e, Select):
        return _PREC["select"]
    if isinstance(e, Cmp):
        return _PREC["cmp"]
    if isinstance(e, Bin):
        return _PREC[e.op]
    if isinstance(e, Neg):
        return _PREC["neg"]
    return _PREC["atom"]


def _cuda_lit(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return f"(real){float(value)!r}"


@dataclass
class CudaRenderer:
    """CUDA text. ``resolve(name)``: a declared name's C spelling; ``fused``: ``mad`` as
    ``mad<NEURONGPU_FAST_RK>(a, b, c)`` (rkf45.cuh), else ``c + a * b``."""
    resolve: object = None
    fused: bool = False
    indent: str = "    "

    def name(self, n: str) -> str:
        return self.resolve(n) if self.resolve is not None else n.replace(".", "__")

    def lower(self, e):
        """``mad`` unfused is the expression ``c + a * b``."""
        if isinstance(e, Mad) and not self.fused:
            return Bin("+", e.c, Bin("*", e.a, e.b))
        return e

    def expr(self, e, level: int = 0) -> str:
        e = self.lower(e)
        text = self._expr(e)
        return f"({text})" if _prec(e) < level else text

    def _expr(self, e) -> str:
        if isinstance(e, Name):
            return self.name(e.name)
        if isinstance(e, Lit):
            return e.c if e.c is not None else _cuda_lit(e.value)
        if isinstance(e, PerPrecision):
            return f"sizeof(real) == 4 ? {_cuda_lit(e.f32)} : {_cuda_lit(e.f64)}"
        if isinstance(e, Input):
            return f"in_{e.port.replace('.', '__')}"
        if isinstance(e, Bin):
            p = _PREC[e.op]
            return f"{self.expr(e.a, p)} {e.op} {self.expr(e.b, p + 1)}"
        if isinstance(e, Neg):
            return f"-{self.expr(e.a, _PREC['neg'])}"
        if isinstance(e, Cmp):
            p = _PREC["cmp"]
            return f"{self.expr(e.a, p + 1)} {e.op} {self.expr(e.b, p + 1)}"
        if isinstance(e, Call):
            return f"{e.fn}({', '.join(self.expr(a) for a in e.args)})"
        if isinstance(e, Mad):
            args = ", ".join(self.expr(x, _PREC["neg"]) for x in (e.a, e.b, e.c))
            return f"mad<NEURONGPU_FAST_RK>({args})"
        if isinstance(e, Select):
            p = _PREC["select"]
            return f"{self.expr(e.cond, p + 1)} ? {self.expr(e.a, p + 1)} : " \
                   f"{self.expr(e.b, p + 1)}"
        raise TypeError(f"not an expression: {e!r}")

    def lines(self, statements, depth: int = 0) -> list[str]:
        """The statements as lines of CUDA."""
        pad = self.indent * depth
        out = []
        for s in statements:
            if isinstance(s, Let):
                const = "const " if s.const else ""
                out.append(f"{pad}{const}{s.ctype} {s.name} = {self.expr(s.expr)};")
            elif isinstance(s, Assign):
                op = f" {s.op}= " if s.op else " = "
                out.append(f"{pad}{self.name(s.target)}{op}{self.expr(s.expr)};")
            elif isinstance(s, Deriv):
                out.append(f"{pad}f[{s.row}] = {self.expr(s.expr)};")
            elif isinstance(s, Spike):
                out.append(f"{pad}n_spikes = 1;")
            elif isinstance(s, If):
                out += self._if(s, depth, "if")
            else:
                raise TypeError(f"not a statement: {s!r}")
        return out

    def _if(self, s, depth, keyword):
        pad = self.indent * depth
        head = f"{pad}{keyword} ({self.expr(s.cond)})"
        if not s.braces:
            (only,) = self.lines(s.then, 0)
            return [f"{head} {only}"]
        out = [f"{head} {{", *self.lines(s.then, depth + 1)]
        if len(s.orelse) == 1 and isinstance(s.orelse[0], If):
            nested = self._if(s.orelse[0], depth, "if")
            return out + [f"{pad}}} else {nested[0].lstrip()}", *nested[1:]]
        if s.orelse:
            out += [f"{pad}}} else {{", *self.lines(s.orelse, depth + 1)]
        return out + [f"{pad}}}"]


# -- array code ----------------------------------------------------------------------------
_PY_CMP_PREC = 3


class XpRenderer:
    """Python source over arrays (``xp``: NumPy or CuPy). ``resolve(name)``: a declared
    name's Python spelling (locals of ``Let`` are ``_<name>``)."""

    def __init__(self, resolve):
        self.resolve = resolve
        self.locals: set[str] = set()
        self._masks = 0

    def name(self, n: str) -> str:
        return f"_{n}" if n in self.locals else self.resolve(n)

    @staticmethod
    def lower(e):
        """``mad`` as ``c + a * b`` (``c - a * b``, ``a * b - c`` where a or c is
        negated: the same roundings, one operation fewer)."""
        if not isinstance(e, Mad):
            return e
        if isinstance(e.a, Neg):
            return Bin("-", e.c, Bin("*", e.a.a, e.b))
        if isinstance(e.c, Neg):
            return Bin("-", Bin("*", e.a, e.b), e.c.a)
        return Bin("+", e.c, Bin("*", e.a, e.b))

    def expr(self, e, level: int = 0) -> str:
        e = self.lower(e)
        text = self._expr(e)
        return f"({text})" if _prec(e) < level else text

    def _expr(self, e) -> str:
        if isinstance(e, Name):
            return self.name(e.name)
        if isinstance(e, Lit):
            return repr(e.value)
        if isinstance(e, PerPrecision):
            return f"({e.f32!r} if real32 else {e.f64!r})"
        if isinstance(e, Input):
            return f"inputs[{e.index}]"
        if isinstance(e, Bin):
            p = _PREC[e.op]
            return f"{self.expr(e.a, p)} {e.op} {self.expr(e.b, p + 1)}"
        if isinstance(e, Neg):
            return f"-{self.expr(e.a, _PREC['neg'])}"
        if isinstance(e, Cmp):
            # parenthesised: Python chains comparisons and & binds tighter
            return f"({self.expr(e.a, _PY_CMP_PREC + 1)} {e.op} " \
                   f"{self.expr(e.b, _PY_CMP_PREC + 1)})"
        if isinstance(e, Call):
            fn = {"fmin": "xp.minimum", "exp": "xp.exp"}[e.fn]
            return f"{fn}({', '.join(self.expr(a) for a in e.args)})"
        if isinstance(e, Select):
            return f"xp.where({self.expr(e.cond)}, {self.expr(e.a)}, {self.expr(e.b)})"
        raise TypeError(f"not an expression: {e!r}")

    def lines(self, statements, mask=None, declared=None) -> list[str]:
        """The statements as Python lines. Under ``mask`` (``(text, negated)``) an
        assignment to a name declared outside the masked block keeps its old value
        where the mask does not hold."""
        declared = set() if declared is None else declared
        out = []
        for s in statements:
            if isinstance(s, Let):
                self.locals.add(s.name)
                declared.add(s.name)
                out.append(f"_{s.name} = {self.expr(s.expr)}")
            elif isinstance(s, Assign):
                target = self.name(s.target)
                value = self.expr(s.expr if s.op is None
                                  else Bin(s.op, Name(s.target), s.expr))
                if mask is not None and s.target not in declared:
                    m, negated = mask
                    value = (f"xp.where({m}, {target}, {value})" if negated
                             else f"xp.where({m}, {value}, {target})")
                out.append(f"{target} = {value}")
            elif isinstance(s, Deriv):
                out.append(f"f[{s.row}] = {self.expr(s.expr)}")
            elif isinstance(s, Spike):
                out.append("spiked = " + ("xp.ones_like(spiked)" if mask is None
                                          else (f"~{mask[0]}" if mask[1] else mask[0])))
            elif isinstance(s, If):
                out += self._if(s, mask)
            else:
                raise TypeError(f"not a statement: {s!r}")
        return out

    def _if(self, s, mask):
        self._masks += 1
        m = f"_m{self._masks}"
        cond = self.expr(s.cond)
        if mask is not None:
            outer = f"~{mask[0]}" if mask[1] else mask[0]
            cond = f"{outer} & {cond}"
        out = [f"{m} = {cond}", *self.lines(s.then, (m, False), set())]
        if s.orelse:
            if mask is None:
                out += self.lines(s.orelse, (m, True), set())
            else:
                # the else branch under an outer mask: a mask of its own
                self._masks += 1
                e = f"_m{self._masks}"
                out.append(f"{e} = {outer} & ~{m}")
                out += self.lines(s.orelse, (e, False), set())
        return out


def compile_xp(name: str, arguments: str, body: list[str], prologue=(), epilogue=(),
               errstate: bool = False):
    """A Python function ``name(arguments)`` of the rendered lines."""
    inner = list(body)
    if errstate:
        inner = ['with np.errstate(divide="ignore", invalid="ignore", over="ignore"):',
                 *["    " + line for line in inner]]
    source = "\n".join([f"def {name}({arguments}):",
                        *["    " + line for line in (*prologue, *inner, *epilogue)]])
    namespace = {"np": np}
    exec(compile(source, f"<generated {name}>", "exec"), namespace)
    function = namespace[name]
    function.source = source
    return function


__all__ = ["Assign", "Bin", "Call", "Cmp", "CudaRenderer", "Deriv", "Expr", "If", "Input",
           "Let", "Lit", "Mad", "Name", "Neg", "PerPrecision", "Select", "Spike",
           "XpRenderer", "compile_xp", "eq", "exp", "fmin", "ge", "gt", "lift", "mad",
           "select"]
