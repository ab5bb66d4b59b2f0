"""What the templates service takes: a checked create body (:class:`NewTemplate`) and a checked
update body (:class:`TemplateChange`). :func:`zapgate.domain.template_rules.parse` does the
checking; the API (``web.views.templates``) and the dashboard's editor both build these from
its :class:`TemplateSpec`, so a form refuses what the API refuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zapgate.domain.template_rules import TemplateSpec


@dataclass(frozen=True)
class NewTemplate:
    """A new template: its identity and its first version's content (the stored shape of
    :mod:`zapgate.domain.templates`)."""

    name: str
    category: str
    language: str
    content: dict[str, Any]
    variables: tuple[str, ...]

    @classmethod
    def of(cls, spec: TemplateSpec) -> NewTemplate:
        """From a spec parsed as a create body (which always names all three)."""
        assert spec.name is not None and spec.category is not None and spec.language is not None
        return cls(spec.name, spec.category, spec.language, spec.content, spec.variables)

    @property
    def spec(self) -> TemplateSpec:
        return TemplateSpec(self.name, self.category, self.language, self.content, self.variables)


@dataclass(frozen=True)
class TemplateChange:
    """A full replacement of a template's content. None keeps the name or language; a category,
    when given, must be the current one."""

    name: str | None
    category: str | None
    language: str | None
    content: dict[str, Any]
    variables: tuple[str, ...]

    @classmethod
    def of(cls, spec: TemplateSpec) -> TemplateChange:
        return cls(spec.name, spec.category, spec.language, spec.content, spec.variables)

    @property
    def spec(self) -> TemplateSpec:
        return TemplateSpec(self.name, self.category, self.language, self.content, self.variables)
