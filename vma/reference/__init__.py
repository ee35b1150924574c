"""Reference data: code sets and edit tables, loaded lazily and once per process.

Each kind has a bundled sample (with its source recorded in ``data/SOURCES.md``)
that an operator replaces with the real file through the variables of contract
section 3. Nothing here is loaded until a check asks for it, so a process that
checks one chart pays only for what that chart needs.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property

from vma.config import Settings, get_settings
from vma.reference.icd10cm import IcdCatalog, IcdRelease, catalog


class ReferenceData:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()

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
