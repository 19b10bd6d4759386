"""pip install . (offline, with Debian's setuptools and wheel):

    /usr/bin/python3 -m venv --system-site-packages venv
    venv/bin/pip install --no-build-isolation .

The extension loadspiker._engine is built by the project's CMake build (in ./build, or
$LOADSPIKER_BUILD_DIR), the same build `make` runs; the pure-Python modules are python/loadspiker.
"""
import glob
import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.environ.get("LOADSPIKER_BUILD_DIR", os.path.join(ROOT, "build"))
        jobs = os.environ.get("JOBS", "2")
        subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, "-G", "Ninja",
                               "-DCMAKE_BUILD_TYPE=RelWithDebInfo"])
        subprocess.check_call(["ninja", "-C", build_dir, f"-j{jobs}", "_engine"])
        built = glob.glob(os.path.join(build_dir, "python", "loadspiker", "_engine*.so"))
        if not built:
            raise RuntimeError(f"the build in {build_dir} made no loadspiker._engine; is "
                               "pybind11-dev installed (scripts/install-deps)?")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    name="loadspiker",
    version="0.1.0",
    description="LoadSpiker: load tests in Python on a C++ engine",
    packages=["loadspiker"],
    package_dir={"": "python"},
    ext_modules=[Extension("loadspiker._engine", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    zip_safe=False,
)
