"""The one shape every check produces (D1 stock, D2 validation, later D4 audits)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from orderguard.core.choices import DetectionSource, ExceptionType, Severity


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found on one order.

    `code` is stable (``PHONE_BAD_LENGTH``); `field` names what it is about (``recipient_phone``,
    ``lines[1].sku_code``); `data` holds the facts behind it, never recipient PII in clear
    (a masked phone tail at most), so that findings can be logged and shown to any role.
    """

    code: str
    type: ExceptionType
    field: str
    severity: Severity = Severity.BLOCKING
    source: DetectionSource = DetectionSource.IMPORT_CHECK
    data: dict[str, Any] = dc_field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.severity == Severity.BLOCKING

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """The finding stored as `as_dict` wrote it (on an order or a case)."""
        return cls(
            code=data["code"],
            type=ExceptionType(data["type"]),
            field=data.get("field", ""),
            severity=Severity(data.get("severity", Severity.BLOCKING)),
            source=DetectionSource(data.get("source", DetectionSource.IMPORT_CHECK)),
            data=data.get("data", {}),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "type": str(self.type.value),
            "field": self.field,
            "severity": str(self.severity.value),
            "source": str(self.source.value),
            "data": self.data,
        }
