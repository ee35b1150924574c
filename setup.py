"""Package layout that pyproject.toml cannot express: the top-level templates/
directory is installed as the package ``vma.templates``."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["vma", "vma.*"]) + ["vma.templates"],
    package_dir={"vma.templates": "templates"},
    package_data={
        "vma": [
            "reference/data/*",
            "demo/*",
            "store/migrations/*",
            "store/migrations/versions/*",
        ],
        "vma.templates": ["*.j2", "*.json", "*.txt"],
    },
)
