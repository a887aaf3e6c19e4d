"""The C extension for `pip install sdks/python` (pyproject.toml has the rest)."""
import os

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
include = os.environ.get("BOXLITE_INCLUDE", os.path.join(ROOT, "include"))
lib = os.environ.get("BOXLITE_LIB", os.path.join(ROOT, "build", "lib"))

setup(ext_modules=[Extension(
    "boxlite.boxlite", sources=["src/native.c"], include_dirs=[include], library_dirs=[lib],
    libraries=["boxlite"], runtime_library_dirs=[lib],
)])
