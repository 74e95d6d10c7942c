# The cffi extension needs setup()'s cffi_modules keyword, which
# pyproject.toml cannot carry; everything else is in pyproject.toml.
from setuptools import setup

setup(cffi_modules=["dbroute_build.py:ffibuilder"])
