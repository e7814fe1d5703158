"""Only the package list lives here (pyproject.toml has the rest): found, so a new subpackage of reconciler is
never left out of the wheel. schemas/ and examples/ are data folders at the repository's root that install
as reconciler.schemas and reconciler.examples (pyproject.toml's package-dir)."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["reconciler", "reconciler.*"]), "reconciler.schemas", "reconciler.examples"])
