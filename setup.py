"""Package layout that pyproject.toml cannot express: the top-level templates/ directory is
installed as the package ``vma.templates``. The data folders (``vma/demo``, ``vma/reference/data``)
have no ``__init__.py``: they are found as namespace packages, so setuptools installs them without
a "package would be ignored" warning."""

from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["vma", "vma.*"], exclude=["*.__pycache__"]) + ["vma.templates"],
    package_dir={"vma.templates": "templates"},
    package_data={
        "vma.demo": ["*.json", "*.csv"],
        "vma.demo.rules": ["*.yaml"],
        "vma.reference.data": ["*"],
        "vma.store.migrations": ["script.py.mako"],
        "vma.templates": ["*.j2", "*.json", "*.txt"],
    },
)
