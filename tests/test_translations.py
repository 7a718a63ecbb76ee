"""The shipped translations (Traditional Chinese, Greek) are complete: no entry
untranslated or left fuzzy, every literal `{% trans %}` string of the
templates is in both catalogues, and the compiled catalogues answer."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ("zh_Hant", "el")
# {% trans "text" %} with a literal and nothing else (no context, no "as").
TRANS_TAG = re.compile(r"""{%\s*trans(?:late)?\s+(?:"([^"]*)"|'([^']*)')\s*%}""")


def _entries(lang: str) -> list[dict]:
    """The catalogue's entries: msgctxt, msgid, msgstr(s) and flags, parsed
    from the .po file (the format makemessages writes)."""
    text = (LOCALE / lang / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    entries = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        if not lines:
            continue
        entry: dict = {"flags": set(), "msgstr": []}
        key = None
        for line in lines:
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                value = ast.literal_eval(line)
                if key == "msgstr":
                    entry["msgstr"][-1] += value
                else:
                    entry[key] += value
            else:
                key, _, rest = line.partition(" ")
                value = ast.literal_eval(rest)
                if key.startswith("msgstr"):
                    entry["msgstr"].append(value)
                    key = "msgstr"
                else:
                    entry[key] = value
        if "msgid" in entry:
            entries.append(entry)
    return entries


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_catalogue_is_complete(lang):
    entries = [e for e in _entries(lang) if e["msgid"]]  # the header has msgid ""
    assert len(entries) > 800
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"])]
    assert fuzzy == [] and untranslated == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_template_string_is_in_the_catalogue(lang):
    known = {e["msgid"] for e in _entries(lang) if "msgctxt" not in e}
    missing = set()
    for template in (Path(settings.BASE_DIR) / "templates").rglob("*.html"):
        for double, single in TRANS_TAG.findall(template.read_text(encoding="utf-8")):
            text = double or single
            if text not in known:
                missing.add(f"{template.name}: {text}")
    assert not missing, "run makemessages and translate:\n" + "\n".join(sorted(missing))


@pytest.mark.parametrize(
    ("language", "expected"),
    [("el", "Παραγγελίες"), ("zh-hant", "訂單")],
)
def test_the_compiled_catalogues_answer(language, expected):
    with translation.override(language):
        assert translation.gettext("Orders") == expected
        assert translation.pgettext("stock movement", "Receipt") != "Receipt"
