"""Where the message templates are: ``templates/`` beside the package in a source checkout (also an
editable install, whose import hook is not always there), else the installed package ``vma.templates``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

SOURCE_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@lru_cache(maxsize=1)
def template_dir() -> Path:
    if (SOURCE_TEMPLATES / "digest.txt.j2").is_file():
        return SOURCE_TEMPLATES
    import vma.templates  # installed layout: templates/ is packaged as vma.templates (setup.py)

    return Path(vma.templates.__file__).parent
