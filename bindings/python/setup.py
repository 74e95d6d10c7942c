# The cffi extension needs setup()'s cffi_modules keyword, which
# pyproject.toml cannot carry; everything else is in pyproject.toml.
from setuptools import setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    """Always build the extension again. cffi writes the same C file for
    another install of libdbroute, so setuptools would find the previous
    build "up-to-date" and keep its RPATH, which names the library's old
    folder."""

    def finalize_options(self):
        super().finalize_options()
        self.force = True


setup(cffi_modules=["dbroute_build.py:ffibuilder"],
      cmdclass={"build_ext": BuildExt})
