"""What each channel kind is configured with, and the checks its constructor runs.

Every adapter class carries `fields: tuple[ConfigField, ...]`, and each adapter module a
`CONFIG_FIELDS: dict[kind, tuple[ConfigField, ...]]` (name, required, secret, kind of value,
default: `config_fields(kind)`). A stored configuration is shown to people through
`notifications.endpoints.config_masked`, which masks every field declared secret.

Constructors collect every problem in a `ConfigChecker` and raise one `ConfigError` mapping
each field to why, so a form can show all of them at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from orderguard.notifications.channels.base import ConfigError, channel_class

ValueKind = Literal["str", "url", "int", "float", "bool", "email"]


@dataclass(frozen=True, slots=True)
class ConfigField:
    name: str
    required: bool = False
    secret: bool = False  # never shown back (`endpoints.config_masked`)
    value: ValueKind = "str"
    default: Any = None


def config_fields(kind: str) -> tuple[ConfigField, ...]:
    """The fields of a channel kind's configuration; raises ConfigError for an unknown kind."""
    return tuple(getattr(channel_class(kind), "fields", ()))


class ConfigChecker:
    """Reads a configuration field by field, noting every problem; `done()` raises them all."""

    def __init__(self, config: Mapping[str, Any], fields: tuple[ConfigField, ...]) -> None:
        if not isinstance(config, Mapping):
            raise ConfigError({"config": _("配置必须是键值对象")})
        self.config = config
        self.fields = {f.name: f for f in fields}
        self.errors: dict[str, str] = {}
        unknown = sorted(set(config) - set(self.fields))
        for name in unknown:
            self.errors[name] = _("未知的配置项")

    def fail(self, name: str, reason: str) -> None:
        self.errors.setdefault(name, reason)

    def _raw(self, name: str) -> Any:
        spec = self.fields[name]
        value = self.config.get(name)
        if value is None or value == "":
            if spec.required:
                self.fail(name, _("必填"))
            return spec.default
        return value

    def text(self, name: str) -> str:
        value = self._raw(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(name, _("须为文本"))
            return ""
        return value.strip()

    def url(self, name: str) -> str:
        value = self.text(name)
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                self.fail(name, _("须为 http 或 https 网址"))
        return value

    def number(self, name: str, *, minimum: float, maximum: float) -> float:
        value = self._raw(name)
        if value is None:
            return 0.0
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if isinstance(value, bool) or not minimum <= number <= maximum:
            self.fail(name, _("须为 %(min)s 到 %(max)s 之间的数") % {"min": minimum, "max": maximum})
            default = self.fields[name].default
            return float(default) if default is not None else minimum
        return number

    def integer(self, name: str, *, minimum: int, maximum: int) -> int:
        number = self.number(name, minimum=minimum, maximum=maximum)
        if number != int(number):
            self.fail(name, _("须为 %(min)s 到 %(max)s 之间的数") % {"min": minimum, "max": maximum})
        return int(number)

    def flag(self, name: str) -> bool:
        value = self._raw(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(name, _("须为是或否"))
            return False
        return value

    def done(self) -> None:
        if self.errors:
            raise ConfigError(self.errors)
