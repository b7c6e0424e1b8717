"""CITATION.cff: what to cite, kept in step with the package's version (GitHub's "Cite this repository" reads it)."""

from __future__ import annotations

import re

import yaml

import gyroage
from tests.conftest import ROOT


def test_citation_file_names_this_version_and_the_training_catalogues_paper():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["title"] == "gyroage" and cff["type"] == "software"
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert cff["version"] == version == gyroage.__version__
    assert "version" in cff["message"] and "SHA-256" in cff["message"] and "2412.12244" in cff["message"]
    (paper,) = cff["references"]
    assert paper["title"].startswith("ChronoFlow") and paper["authors"][0]["family-names"] == "Van-Lane"
    assert paper["identifiers"][0]["value"] == "arXiv:2412.12244"


def test_the_sdist_ships_the_citation_file():
    include = re.search(r"\[tool\.hatch\.build\.targets\.sdist\]\ninclude = (\[.*\])", (ROOT / "pyproject.toml").read_text())
    assert '"CITATION.cff"' in include.group(1)
