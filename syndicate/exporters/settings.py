"""The exporter side of typed plugin settings: which model an exporter declares, which keys it
takes, and how an exporter is made from its settings.

An exporter opts in with a class attribute ``settings_model`` (a pydantic model class, in the
spirit of mkdocs plugins' ``config_scheme``) and a constructor taking the validated settings
object. Reading ``[exporters.<name>]`` from config.toml and turning validation errors into
``file:line`` config errors is the build's job (``build/exporter_settings.py``): an exporter only
ever receives the parsed object, never a file. May import pydantic and ``errors`` only.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ExportError


class ExporterSettings(BaseModel):
    """A base for an exporter's settings model, strict like every other config table: unknown
    keys and wrong types are errors (never silently dropped or coerced), values are frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def settings_model(cls: type[Any]) -> type[BaseModel] | None:
    """The settings model an exporter class declares, or None for one without settings."""
    model = getattr(cls, "settings_model", None)
    if model is None:
        return None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ExportError(
            f"exporter {getattr(cls, 'name', cls.__qualname__)!r} "
            f"({cls.__module__}:{cls.__qualname__}) declares settings_model = {model!r}, "
            "which is not a pydantic model class; ask its author for a fixed release"
        )
    return model


def accepted_keys(model: type[BaseModel]) -> list[str]:
    """The keys a settings table may hold: every field's name and its (string) aliases."""
    keys: dict[str, None] = {}
    for name, field in model.model_fields.items():
        for key in (field.validation_alias, field.alias, name):
            if isinstance(key, str):
                keys.setdefault(key)
    return list(keys)


def unknown_keys(model: type[BaseModel], raw: dict[str, Any]) -> list[str]:
    """Keys the model has no field for. Checked here, not left to the model, so that a plugin
    whose model ignores extra keys (pydantic's default) still has a misspelt key reported;
    a model that says ``extra="allow"`` asked for arbitrary keys and gets them."""
    if model.model_config.get("extra") == "allow":
        return []
    known = set(accepted_keys(model))
    return [key for key in raw if key not in known]


def default_settings(name: str, model: type[BaseModel]) -> BaseModel:
    """The model's defaults, for library callers that build exporters without a config."""
    try:
        return model.model_validate({})
    except ValidationError as exc:
        missing = [".".join(map(str, e["loc"])) for e in exc.errors() if e["type"] == "missing"]
        raise ExportError(
            f"exporter {name!r} needs settings ({', '.join(missing) or 'see its documentation'}); "
            f"set them in an [exporters.{name}] table of config.toml"
        ) from None


def create(name: str, cls: type[Any], settings: BaseModel | None = None) -> Any:
    """An exporter instance: ``cls(settings)`` if it declares a settings model (its defaults
    when ``settings`` is None), else ``cls()`` as exporters were always made."""
    model = settings_model(cls)
    if model is None:
        return cls()
    return cls(settings if settings is not None else default_settings(name, model))
