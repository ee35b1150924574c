"""What the checks derive from the whole tabular is built when the index is compiled and kept in
its cache: a user's first request never scans the release."""

from __future__ import annotations

import pickle

import pytest

from vma.checks.support.axes import index as axes
from vma.checks.support.axes.words import ACUITY
from vma.checks.support.demographics import decide
from vma.checks.support.refine import candidates
from vma.reference import icd10cm, icd10cm_load

TABULAR = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2026</version>
  <chapter>
    <name>10</name>
    <desc>Diseases of the respiratory system (J00-J99)</desc>
    <section id="J20-J22">
      <desc>Other acute lower respiratory infections (J20-J22)</desc>
      <diag>
        <name>J20</name>
        <desc>Acute bronchitis</desc>
        <diag><name>J20.8</name><desc>Acute bronchitis due to other specified organisms</desc></diag>
        <diag><name>J20.9</name><desc>Acute bronchitis, unspecified</desc></diag>
      </diag>
    </section>
    <section id="J40-J47">
      <desc>Chronic lower respiratory diseases (J40-J47)</desc>
      <diag><name>J40</name><desc>Bronchitis, not specified as acute or chronic</desc></diag>
      <diag><name>J42</name><desc>Unspecified chronic bronchitis</desc></diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""

BRONCHITIS = (10, frozenset({"bronchitis"}))


@pytest.fixture
def tabular(tmp_path, monkeypatch):
    monkeypatch.setenv("VMA_CACHE_DIR", str(tmp_path / "cache"))
    xml = tmp_path / "icd10cm-tabular-2026.xml"
    xml.write_text(TABULAR)
    return xml


def _cache_file(tmp_path):
    found = list((tmp_path / "cache").glob("icd10cm-*.pickle"))
    assert len(found) == 1
    return found[0]


def test_the_compiled_cache_holds_the_acuity_keys_and_word_frequencies(tabular, tmp_path):
    icd10cm_load.load_release(tabular)
    with _cache_file(tmp_path).open("rb") as fh:
        data = pickle.load(fh)
    derived = data["derived"]
    assert derived["format"] == axes.DERIVED_FORMAT
    assert set(derived["acuity_keys"][BRONCHITIS]) == {"J20.9", "J40", "J42"}
    assert derived["word_df"]["bronchitis"] == 5  # every code but none: J20, J20.8, J20.9, J40, J42
    assert derived["word_n"] == 5


def test_a_check_after_loading_the_cache_scans_nothing(tabular, monkeypatch):
    icd10cm_load.load_release(tabular)  # compiles and caches

    def no_scan(self):
        raise AssertionError("the tabular was scanned on a request")

    monkeypatch.setattr(axes.AxisIndex, "scan_acuity_keys", no_scan)
    monkeypatch.setattr(icd10cm.IcdRelease, "scan_excludes1_refs", no_scan)
    monkeypatch.setattr(axes, "derive", lambda release: pytest.fail("derived again from a good cache"))
    release = icd10cm_load.load_release(tabular)  # read from the cache
    assert set(release.derived["acuity_keys"][BRONCHITIS]) == {"J20.9", "J40", "J42"}
    acuity = axes.axis_index(release).axis("J40", ACUITY)
    assert acuity is not None
    assert {s.code for s in acuity.siblings} == {"J20.9", "J42"}
    assert axes.axis_index(release).idf("bronchitis") > 0
    assert pickle.loads(release.derived["any_age_counterparts"]) == {}  # this tabular has no Chapter 16 code


def test_every_newborn_codes_counterpart_at_any_age_is_compiled_with_the_index():
    release = icd10cm_load.catalog().releases[-1]
    compiled = pickle.loads(release.derived["any_age_counterparts"])  # read when a chart first needs it
    newborn = [code for code in release.codes() if code.startswith("P")]
    assert set(compiled) == set(newborn)
    assert compiled == {code: decide._scan_any_age_counterpart(release, code) for code in newborn}
    assert compiled["P59.9"][0] == "R17"


def test_a_cache_with_old_derived_tables_is_brought_up_to_date(tabular, tmp_path):
    icd10cm_load.load_release(tabular)
    path = _cache_file(tmp_path)
    with path.open("rb") as fh:
        data = pickle.load(fh)
    data["derived"] = {"format": "old"}
    with path.open("wb") as fh:
        pickle.dump(data, fh)
    release = icd10cm_load.load_release(tabular)
    assert release.derived["format"] == axes.DERIVED_FORMAT
    with path.open("rb") as fh:
        assert pickle.load(fh)["derived"]["format"] == axes.DERIVED_FORMAT


def test_the_bundled_release_carries_its_derived_tables():
    release = icd10cm_load.catalog().releases[-1]
    assert release.derived["format"] == axes.DERIVED_FORMAT
    assert release.derived["acuity_keys"]
    assert release.derived["word_n"] > 40_000


def test_a_categorys_tables_are_read_from_the_cache_not_the_tabular(tabular, monkeypatch):
    icd10cm_load.load_release(tabular)  # compiles and caches
    scanned = candidates.Refiner(axes.AxisIndex(icd10cm_load.load_release(tabular)))
    expected = {code: scanned.refinements(code) for code in ("J20.9", "J40", "J42")}

    def no_scan(self, code):
        raise AssertionError(f"the tabular was read for {code} on a request")

    for owner, name in ((candidates.Refiner, "scan_pool_words"), (candidates.Refiner, "scan_implied"),
                        (axes.AxisIndex, "scan_base_descendants")):
        monkeypatch.setattr(owner, name, no_scan)
    release = icd10cm_load.load_release(tabular)  # read from the cache
    index = axes.AxisIndex(release)
    refiner = candidates.Refiner(index)
    assert {code: refiner.refinements(code) for code in expected} == expected
    assert [r.code for r in expected["J20.9"]] == ["J20.8", "J42"]  # J42 by the acuity axis, from another category
    assert index.base_descendants("J20") == ("J20.8", "J20.9")


def test_a_codes_axes_compare_its_siblings_folded_words_read_from_the_cache(tabular, monkeypatch):
    icd10cm_load.load_release(tabular)  # compiles and caches
    expected = axes.AxisIndex(icd10cm_load.load_release(tabular)).axes("J20.9")
    assert {s.code for s in expected[ACUITY].siblings} == {"J42"}  # chronic bronchitis, across categories
    monkeypatch.setattr(axes.AxisIndex, "scan_folded_words",
                        lambda self, code: pytest.fail(f"the words of {code} were read from the tabular"))
    index = axes.AxisIndex(icd10cm_load.load_release(tabular))  # read from the cache
    assert index.axes("J20.9") == expected
    assert index.folded_words("J20.8") == frozenset({"acute", "bronchitis", "due", "other", "specified", "organism"})


def test_every_categorys_compiled_tables_are_what_the_tabular_gives():
    release = icd10cm_load.catalog().releases[-1]
    compiled = release.derived["category_tables"]
    assert len(compiled) > 1800
    index = axes.AxisIndex(release)
    refiner = candidates.Refiner(index)
    for category in compiled:
        tables = index.category_tables(category)
        assert tables["bases"] == index.scan_base_descendants(category), category
        # each base code's folded title words, in the order of the base codes
        assert [frozenset(words.split()) for words in tables["folded"]] == \
            [index.scan_folded_words(code) for code in tables["bases"]], category
        pool, implied = tables["refine"]
        assert pool == refiner.scan_pool_words(category), category
        assert implied == {code: refiner.scan_implied(code) for code in (category, *pool[0])}, category
        # the same order of codes, which the refinements keep
        assert list(pool[0]) == list(tables["bases"]), category


def test_every_codes_base_descendants_are_its_categorys_that_its_code_begins():
    release = icd10cm_load.catalog().releases[-1]
    release.read_all()
    index = axes.AxisIndex(release)
    parents = [code for code in release.codes() if release.children(code) and not axes.AxisIndex.needs_seventh(index, code)]
    assert len(parents) > 10_000
    for code in parents:
        assert index.base_descendants(code) == index.scan_base_descendants(code), code
    leaf = next(code for code in release.codes() if index.needs_seventh(code))
    assert index.base_descendants(leaf) == index.scan_base_descendants(leaf) == ()


def test_every_setting_is_named_so_the_check_path_can_tell_it_from_other_variables():
    """vma check reads its reference paths from the environment alone unless another setting is
    there; that test relies on every setting's name starting with one of these prefixes."""
    from vma.config import Settings
    from vma.reference import NOT_SETTINGS, REFERENCE_SETTINGS, SETTING_PREFIXES

    assert all(name.startswith(SETTING_PREFIXES) for name in Settings.model_fields)
    assert set(REFERENCE_SETTINGS) <= set(Settings.model_fields)
    assert not NOT_SETTINGS & set(Settings.model_fields)


def test_reference_settings_come_from_the_environment_alone_only_when_nothing_else_is_set(
        tmp_path, monkeypatch):
    from vma.reference import ReferenceData

    monkeypatch.chdir(tmp_path)  # no vma.toml here
    for name in list(__import__("os").environ):
        if name.lower().startswith(("vma_", "slack_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("vma_mue_file", "/x/mue.csv")  # any case, as the settings read it
    light = ReferenceData()
    assert light.settings.vma_mue_file == "/x/mue.csv"
    assert light.settings.vma_cpt_file is None
    assert not hasattr(light.settings, "vma_log_level")  # not the full settings

    monkeypatch.setenv("VMA_LOG_LEVEL", "INFO")  # another setting: the full settings, checked
    from vma.config import Settings, get_settings

    get_settings.cache_clear()
    try:
        full = ReferenceData()
        assert isinstance(full.settings, Settings)
        assert full.settings.vma_mue_file == "/x/mue.csv"
        monkeypatch.delenv("VMA_LOG_LEVEL")
        (tmp_path / "vma.toml").write_text('VMA_CPT_FILE = "/x/cpt.csv"\n')  # a vma.toml: the full settings
        get_settings.cache_clear()
        assert ReferenceData().settings.vma_cpt_file == "/x/cpt.csv"
    finally:
        get_settings.cache_clear()


INJURIES = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2026</version>
  <chapter>
    <name>19</name>
    <desc>Injury, poisoning and certain other consequences of external causes (S00-T88)</desc>
    <section id="S90-S99">
      <desc>Injuries to the ankle and foot (S90-S99)</desc>
      <diag>
        <name>S93</name>
        <desc>Dislocation and sprain of joints and ligaments at ankle, foot and toe level</desc>
        <sevenChrDef>
          <extension char="A">initial encounter</extension>
          <extension char="D">subsequent encounter</extension>
          <extension char="S">sequela</extension>
        </sevenChrDef>
        <diag>
          <name>S93.4</name>
          <desc>Sprain of ankle</desc>
          <diag><name>S93.401</name><desc>Sprain of unspecified ligament of right ankle</desc></diag>
        </diag>
        <diag><name>S93.9</name><desc>Sprain of unspecified parts of foot</desc></diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""


def test_seventh_character_codes_are_made_from_their_leaf_not_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("VMA_CACHE_DIR", str(tmp_path / "cache"))
    xml = tmp_path / "icd10cm-tabular-2026.xml"
    xml.write_text(INJURIES)
    icd10cm_load.load_release(xml)
    with _cache_file(tmp_path).open("rb") as fh:
        stored, _children, _notes = pickle.loads(pickle.load(fh)["chunks"]["S93"])
    assert "S93.401" in stored and "S93.401A" not in stored
    release = icd10cm_load.load_release(xml)  # from the cache

    assert list(release.codes()) == ["S93", "S93.4", "S93.401", "S93.401A", "S93.401D", "S93.401S",
                                     "S93.9", "S93.9XXA", "S93.9XXD", "S93.9XXS"]
    assert len(release) == 10
    assert release.children("S93.401") == ("S93.401A", "S93.401D", "S93.401S")
    assert release.get("S93.9XXD") == icd10cm.IcdEntry(
        "S93.9XXD", "Sprain of unspecified parts of foot, subsequent encounter", "S93.9", True, 19, "S90-S99")
    assert release.parent("S93.401S") == "S93.401"
    assert release.requires_seventh("S93.401") and not release.is_billable("S93.401")
    for absent in ("S93.401X", "S93.401", "S93.9A", "S93.9XA", "S939XXA", "S93.4A", "S93.4XXA", "S93.40A"):
        assert absent == "S93.401" or absent not in release, absent
    assert "S93.401" in release and not release.is_billable("S93.401")


def test_a_release_read_from_the_cache_reads_only_the_categories_asked_for(tabular):
    icd10cm_load.load_release(tabular)  # compiles and caches
    release = icd10cm_load.load_release(tabular)
    assert set(release._chunks) == {"J20", "J40", "J42"}
    assert release.description("J20.9") == "Acute bronchitis, unspecified"
    assert set(release._chunks) == {"J40", "J42"}  # J20 read, the others not
    assert release.children("J20") == ("J20.8", "J20.9")
    assert "J42" in release and set(release._chunks) == {"J40"}
    assert release.notes("J40-J47", "excludes1") == ()  # a block without notes
    assert list(release.codes()) == ["J20", "J20.8", "J20.9", "J40", "J42"]  # tabular order, all read
    assert not release._chunks
