"""Build hooks: ship pynn_neurongpu.pth (the ``pyNN.neurongpu`` import alias) at the top
of site-packages, in regular and editable installs, and the CUDA sources of cuda/ inside
the package, with cubins of its static modules compiled ahead where nvcc is present."""

import glob
import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ALIAS_PTH = "pynn_neurongpu.pth"


def build_cubins(target):
    """Compile the static CUDA modules ahead where nvcc is present (tools/build_cubins.py;
    PYNN_NEURONGPU_AHEAD=0 skips it); the engine compiles with NVRTC what is missing."""
    if os.environ.get("PYNN_NEURONGPU_AHEAD", "1") == "0" or shutil.which("nvcc") is None:
        return
    import importlib.util
    try:
        spec = importlib.util.spec_from_file_location("_build_cubins", os.path.join(
            "tools", "build_cubins.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build(Path(target))
    except Exception as error:  # noqa: BLE001 - an install never fails for want of cubins
        print(f"cubins not built ahead ({error}); NVRTC compiles them at first use")


class BuildPyWithAlias(build_py):
    def run(self):
        super().run()
        self.copy_file(ALIAS_PTH, os.path.join(self.build_lib, ALIAS_PTH), preserve_mode=False)
        target = os.path.join(self.build_lib, "pyNN_neurongpu", "cuda")
        self.mkpath(target)
        # the kernels and their headers; *.h: the compiled CPU step's host headers
        sources = [path for ext in ("cu", "cuh", "h")
                   for path in glob.glob(os.path.join("cuda", f"*.{ext}"))]
        for source in sources:
            self.copy_file(source, os.path.join(target, os.path.basename(source)),
                           preserve_mode=False)
        build_cubins(os.path.join(target, "cubin"))

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, ALIAS_PTH)]


cmdclass = {"build_py": BuildPyWithAlias}

try:
    from setuptools.command.editable_wheel import editable_wheel

    class EditableWheelWithAlias(editable_wheel):
        """Editable installs get the alias .pth too (it points at the checkout's module)."""

        def _install_namespaces(self, installation_dir, pth_prefix):
            super()._install_namespaces(installation_dir, pth_prefix)
            shutil.copy(ALIAS_PTH, os.path.join(installation_dir, ALIAS_PTH))

    cmdclass["editable_wheel"] = EditableWheelWithAlias
except ImportError:  # setuptools without PEP 660 support
    pass

setup(cmdclass=cmdclass)
