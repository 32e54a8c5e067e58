"""Build hook: ship pynn_neurongpu.pth (the pyNN.neurongpu alias) at the top of
site-packages, and the CUDA sources in cuda/ inside the package."""

import glob
import os

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithAlias(build_py):
    def run(self):
        super().run()
        self.copy_file("pynn_neurongpu.pth", os.path.join(self.build_lib, "pynn_neurongpu.pth"),
                       preserve_mode=False)
        target = os.path.join(self.build_lib, "pyNN_neurongpu", "cuda")
        self.mkpath(target)
        sources = glob.glob(os.path.join("cuda", "*.cu")) + glob.glob(os.path.join("cuda", "*.cuh"))
        for source in sources:
            self.copy_file(source, os.path.join(target, os.path.basename(source)),
                           preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [
            os.path.join(self.build_lib, "pynn_neurongpu.pth")]


setup(cmdclass={"build_py": BuildPyWithAlias})
