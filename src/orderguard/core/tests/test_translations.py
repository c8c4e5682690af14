"""The en and zh-Hant catalogues: every message in the source is translated, compiled, and
keeps its placeholders.

The messages in the source are found the way a translator finds them: Django's makemessages
(GNU xgettext) runs on a copy of the package and its .pot file is compared with the catalogues.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation

import orderguard
from orderguard.conftest import IN_CI

PACKAGE = Path(orderguard.__file__).resolve().parent
LOCALES = ("en", "zh_Hant")
UPDATE_HINT = (
    "run `python -m django makemessages -l en -l zh_Hant --no-obsolete --add-location=file "
    '-i "*/tests/*" -i bench.py` in src/orderguard, translate, then `python -m django compilemessages`'
)


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.msgctxt}|{self.msgid}" if self.msgctxt is not None else self.msgid

    @property
    def mo_key(self) -> str:
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt is not None else self.msgid


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text.strip()[1:-1])


def read_po(path: Path) -> dict[tuple[str | None, str], Entry]:
    """The entries of a .po/.pot file by (msgctxt, msgid), obsolete ones left out."""
    entries: dict[tuple[str | None, str], Entry] = {}
    entry, target = Entry(), None

    def finish() -> None:
        nonlocal entry, target
        if target is not None:
            entries[entry.msgctxt, entry.msgid] = entry
        entry, target = Entry(), None

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            finish()
        elif line.startswith("#,"):
            if target is not None:
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue  # comments, locations, previous msgids (#|) and obsolete entries (#~)
        elif line.startswith('"'):
            assert target is not None, f"{path}: a continuation line outside an entry: {line}"
            kind, index = target
            if kind == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, kind, (getattr(entry, kind) or "") + _unquote(line))
        else:
            match = _KEYWORD.match(line)
            assert match, f"{path}: cannot read the line {line!r}"
            keyword, index, text = match.groups()
            if keyword == "msgctxt" or (keyword == "msgid" and target is not None and target[0] == "msgstr"):
                finish()
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                entry.msgstr[target[1]] = _unquote(text)
            else:
                target = (keyword, 0)
                setattr(entry, keyword, _unquote(text))
    finish()
    entries.pop((None, ""), None)  # the header
    return entries


def catalogue(locale: str) -> dict[tuple[str | None, str], Entry]:
    return read_po(PACKAGE / "locale" / locale / "LC_MESSAGES" / "django.po")


_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
_BRACE = re.compile(r"\{[^{}]*\}")


def placeholders(text: str, brace: bool = False) -> tuple[list[str], list[str]]:
    """Named placeholders in any order, unnamed ones (and %%) in order."""
    named, unnamed = [], []
    for match in _PLACEHOLDER.finditer(text):
        (named if match["name"] is not None else unnamed).append(match[0])
    if brace:
        named += _BRACE.findall(text)
    return sorted(named), unnamed


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str | None, str], Entry]:
    """Every message makemessages finds in the package, from a copy so nothing here is touched."""
    if shutil.which("xgettext") is None:
        message = "GNU gettext's xgettext is not installed (`make gettext-tools` installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("i18n") / "orderguard"
    shutil.copytree(
        PACKAGE, root, ignore=shutil.ignore_patterns("locale", "tests", "bench.py", "__pycache__", "*.pyc")
    )
    (root / "locale").mkdir()
    # Without settings makemessages writes to ./locale only (not the real LOCALE_PATHS).
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    command = [sys.executable, "-m", "django", "makemessages", "--all", "--keep-pot", "--no-wrap"]
    command += ["-i", "*/tests/*", "-i", "bench.py"]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"makemessages failed:\n{done.stdout}\n{done.stderr}"
    messages = read_po(root / "locale" / "django.pot")
    assert len(messages) > 100, f"makemessages found only {len(messages)} messages"
    return messages


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_in_the_source_is_translated(source_messages, locale):
    translated = catalogue(locale)
    missing = sorted(e.label for key, e in source_messages.items() if key not in translated)
    fuzzy = sorted(
        e.label
        for key, e in source_messages.items()
        if key in translated and "fuzzy" in translated[key].flags
    )
    empty = sorted(
        e.label
        for key, e in source_messages.items()
        if key in translated and not all(translated[key].msgstr.values())
    )
    problems = [
        f"{title} ({len(labels)}):\n" + "\n".join(f"  {label!r}" for label in labels)
        for title, labels in (("not in the catalogue", missing), ("fuzzy", fuzzy), ("empty", empty))
        if labels
    ]
    assert not problems, f"locale/{locale}/LC_MESSAGES/django.po: " + "\n".join(problems) + f"\n{UPDATE_HINT}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_matches_the_po_file(locale):
    directory = PACKAGE / "locale" / locale / "LC_MESSAGES"
    with (directory / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog  # every message, keyed as msgfmt wrote it
    stale = []
    for entry in catalogue(locale).values():
        if "fuzzy" in entry.flags:
            continue
        for index, text in entry.msgstr.items():
            key = (entry.mo_key, index) if entry.msgid_plural is not None else entry.mo_key
            if text and compiled.get(key) != text:
                stale.append(entry.label)
    assert not stale, f"{directory}/django.mo does not match django.po; run compilemessages. Differs: {stale}"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders_of_their_message(locale):
    wrong = []
    for entry in catalogue(locale).values():
        brace = "python-brace-format" in entry.flags
        allowed = {repr(placeholders(entry.msgid, brace))}
        if entry.msgid_plural is not None:
            allowed.add(repr(placeholders(entry.msgid_plural, brace)))
        for text in entry.msgstr.values():
            if text and repr(placeholders(text, brace)) not in allowed:
                wrong.append(f"{entry.msgid!r} -> {text!r}")
    assert not wrong, f"locale/{locale}: placeholders differ from the message:\n" + "\n".join(wrong)


def test_english_labels_and_messages():
    from orderguard.cases.choices import CaseStatus
    from orderguard.core.choices import ExceptionType

    with translation.override("en"):
        assert [str(label) for label in ExceptionType.labels] == [
            "Out of stock",
            "Recipient details error",
            "Product details error",
            "System fault",
            "Special request",
        ]
        assert str(CaseStatus.WAITING.label) == "Awaiting reply"
        assert translation.gettext("文件 %(file)s 是空的") % {"file": "a.csv"} == "File a.csv is empty"
        page = Template('{% load i18n %}{% translate "接口文档" %}').render(Context())
        assert page == "API docs"


def test_traditional_chinese_labels():
    from orderguard.core.choices import ExceptionType

    with translation.override("zh-hant"):
        assert str(ExceptionType.RECIPIENT_ERROR.label) == "收貨信息錯誤"
        assert str(ExceptionType.OUT_OF_STOCK.label) == "缺貨"
    with translation.override("zh-hans"):
        assert str(ExceptionType.RECIPIENT_ERROR.label) == "收货信息错误"
