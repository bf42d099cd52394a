"""The sparse engine's right-hand side and Jacobian as machine code (issue 20).

CasADi evaluates a graph in its virtual machine: ~6 us a right-hand side and ~21 us a
Jacobian on high-dose aldesleukin's 128 states, about half of a patient's solve. Here the
graph is written out as C by CasADi's code generator, built by the system's C compiler into a
shared library and loaded back as a CasADi function (5x faster right-hand side, 2x Jacobian;
bit-identical results). The library is kept in the compiled-model cache (keyed by the code, the
compiler and CasADi's version), so an arm is built once per machine (0.4-2 s) and loaded in
milliseconds after that, by every worker. Without a C compiler, or where building fails, the
engine evaluates the graph as before: slower, the same numbers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from il2sim.simulate._engine import _prune, compiled_model_cache
from il2sim.simulate._sbml_casadi import casadi

#: The C compiler's flags: -O1 builds in a third of -O2's time and runs as fast here.
CFLAGS = ("-O1", "-shared", "-fPIC")
#: Set to "off" to evaluate the graph in CasADi's virtual machine (nothing is compiled).
COMPILE_ENV = "IL2SIM_COMPILE"


def dae_function(t: Any, x: Any, p: Any, ode: Any) -> Any:
    """The ODE ``ode`` (of time ``t``, states ``x``, parameters ``p``) as a CasADi function in
    the integrator's calling convention (inputs t, x, z, p, u; outputs ode, alg, quad, zero)."""
    ca = casadi()
    none = ca.SX(0, 1)
    return ca.Function(
        "dae", [t, x, none, p, none], [ode, none, none, none], ca.dyn_in(), ca.dyn_out()
    )


def compiled(dae: Any) -> Any | None:
    """``dae`` (from :func:`dae_function`) compiled with its state Jacobian, or None where it
    cannot be (no C compiler, a failed build, or IL2SIM_COMPILE=off).

    Only the states' block of the Jacobian is generated: CVODES without sensitivities reads
    nothing else, and the other blocks (time, parameters) are declared structurally zero so
    that no derivative is computed for them. The engine never asks for sensitivities."""
    if os.environ.get(COMPILE_ENV, "").strip().lower() in ("0", "off", "false", "no"):
        return None
    found = _compiler()
    if found is None:
        return None
    compiler, version = found
    code = _code(dae)
    key = hashlib.sha256(
        "|".join(
            [casadi().__version__, version, *CFLAGS, platform.machine(), platform.system()]
        ).encode()
        + code.encode()
    ).hexdigest()[:40]
    cache = compiled_model_cache()
    with contextlib.suppress(OSError, RuntimeError, subprocess.SubprocessError):
        if cache is None:
            with tempfile.TemporaryDirectory() as tmp:
                return _load(_build(code, Path(tmp), key, compiler))
        path = cache / f"{key}.so"
        if path.is_file():
            with contextlib.suppress(RuntimeError):
                os.utime(path)  # recently used: pruned last
                return _load(path)
            path.unlink(missing_ok=True)  # a damaged entry is built again
        cache.mkdir(parents=True, exist_ok=True)
        built = _load(_build(code, cache, key, compiler))
        _prune(cache)
        return built
    return None


def _code(dae: Any) -> str:
    """C source of ``dae`` and of ``jac_dae``, its Jacobian with only the states' block."""
    ca = casadi()
    ins = dae.sx_in()
    x = ins[1]
    ode = dae.call(ins)[0]
    # CasADi's convention for the Jacobian of a function: inputs, then its outputs ("out_"),
    # and one output per (output, input) pair, "jac_<output>_<input>"
    outs = [ca.SX.sym(f"out_{o}", dae.sparsity_out(o)) for o in dae.name_out()]
    blocks, names = [], []
    for o in dae.name_out():
        for i in dae.name_in():
            names.append(f"jac_{o}_{i}")
            shape = (dae.numel_out(o), dae.numel_in(i))
            blocks.append(ca.jacobian(ode, x) if (o, i) == ("ode", "x") else ca.SX(*shape))
    jac = ca.Function(
        "jac_dae",
        [*ins, *outs],
        blocks,
        [*dae.name_in(), *[f"out_{o}" for o in dae.name_out()]],
        names,
    )
    gen = ca.CodeGenerator("dae.c", {"with_header": False})
    gen.add(dae)
    gen.add(jac)
    return gen.dump()


def _build(code: str, folder: Path, key: str, compiler: str) -> Path:
    """Compile ``code`` into ``folder``/``key``.so (written under a temporary name and moved
    into place, so parallel workers never load half a library)."""
    source = folder / f".{key}.{os.getpid()}.c"
    tmp = folder / f".{key}.{os.getpid()}.so"
    path = folder / f"{key}.so"
    try:
        source.write_text(code)
        subprocess.run(
            [compiler, *CFLAGS, "-o", str(tmp), str(source)],
            check=True,
            capture_output=True,
            timeout=600,
        )
        os.replace(tmp, path)
    finally:
        source.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return path


def _load(path: Path) -> Any:
    return casadi().external("dae", str(path))


@functools.cache
def _compiler() -> tuple[str, str] | None:
    """The C compiler (``CC``, else cc, gcc or clang on the path) and its version line, or
    None if there is none that runs."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        exe = shutil.which(name) if name else None
        if exe is None:
            continue
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [exe, "--version"], capture_output=True, text=True, timeout=30, check=True
            )
            return exe, f"{exe} {out.stdout.splitlines()[0] if out.stdout else ''}"
    return None
