"""Reference data: code sets and edit tables, loaded lazily and once per process.

Each kind has a bundled sample (with its source recorded in ``data/SOURCES.md``)
that an operator replaces with the real file through the variables of contract
section 3. Nothing here is loaded until a check asks for it, so a process that
checks one chart pays only for what that chart needs.
"""

from __future__ import annotations

import os
from datetime import date
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from vma.reference.icd10cm import IcdRelease
from vma.reference.icd10cm_load import IcdCatalog, catalog

if TYPE_CHECKING:
    from vma.config import Settings

# The settings reference data reads: plain optional paths, with no validation to run.
# The reference files shipped with vma. A plain path: vma is installed as files, and asking
# importlib.resources for it loaded zipfile and its readers on every check.
DATA = Path(__file__).resolve().parent / "data"

REFERENCE_SETTINGS = ("vma_icd10cm_xml", "vma_cpt_file", "vma_hcpcs_file", "vma_ncci_ptp_files", "vma_mue_file",
                      "vma_poa_exempt_file", "vma_rules_dir")
# Every setting's name starts so (a test holds Settings to it); these variables are no settings.
SETTING_PREFIXES = ("vma_", "slack_")
NOT_SETTINGS = frozenset({"vma_config", "vma_cache_dir", "vma_strict_checks"})


def _reference_settings_from_environment():
    """The reference settings straight from the environment, when that is all the configuration
    there is: no vma.toml, and no other setting of vma's in the environment (whose value would need
    checking, and whose error vma check reports). None otherwise, and the full settings are loaded.

    Loading them imports pydantic-settings and asyncio, a tenth of a one-chart run."""
    if Path(os.environ.get("VMA_CONFIG", "vma.toml")).is_file():
        return None
    given = {}
    for name, value in os.environ.items():
        key = name.lower()  # settings are read case-insensitively
        if key.startswith(SETTING_PREFIXES) and key not in NOT_SETTINGS:
            if key not in REFERENCE_SETTINGS:
                return None
            given[key] = value
    return SimpleNamespace(**{k: given.get(k) for k in REFERENCE_SETTINGS})


class ReferenceData:
    def __init__(self, settings: Settings | None = None):
        if settings is None:
            settings = _reference_settings_from_environment()
        if settings is None:
            from vma.config import get_settings

            settings = get_settings()
        self.settings = settings

    @cached_property
    def icd_catalog(self) -> IcdCatalog:
        return catalog(self.settings.vma_icd10cm_xml)

    def icd_for(self, dos: date | None) -> IcdRelease:
        return self.icd_catalog.for_date(dos)

    @cached_property
    def cpt(self):
        from vma.reference.cpt import load_cpt

        return load_cpt(self.settings.vma_cpt_file)

    @cached_property
    def hcpcs(self):
        from vma.reference.hcpcs import load_hcpcs

        return load_hcpcs(self.settings.vma_hcpcs_file)

    @cached_property
    def ncci(self):
        from vma.reference.ncci import load_ncci

        return load_ncci(self.settings.vma_ncci_ptp_files)

    @cached_property
    def mue(self):
        from vma.reference.mue import load_mue

        return load_mue(self.settings.vma_mue_file)

    @cached_property
    def payer_rules(self):
        """The compiled payer rule packs of ``VMA_RULES_DIR`` (contract section 7); raises
        ``RulePackError`` for a broken pack, which ``vma check`` and ``vma serve`` ask for up front."""
        from vma.rules import load_rules

        return load_rules(self.settings.vma_rules_dir)

    @cached_property
    def pos(self):
        from vma.reference.pos import PLACES_OF_SERVICE

        return PLACES_OF_SERVICE


_default: ReferenceData | None = None


def default_reference() -> ReferenceData:
    global _default
    if _default is None:
        _default = ReferenceData()
    return _default
