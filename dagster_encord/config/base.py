"""The configuration's building blocks: a section that refuses unknown fields and checks bounds,
and the checks several sections share (secrets in URLs, environment variable names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from dagster_encord.credentials import secret_option_problem, secret_url_problem
from dagster_encord.errors import DagsterEncordError

_T = TypeVar("_T")
NAME_HELP = "letters, digits and underscores (it prefixes asset keys)"


class Section(BaseModel):
    """A configuration section: unknown fields are errors, every field is described."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    # Lower bounds by field: (minimum, whether the minimum itself is allowed). Not Field(ge=...):
    # Dagster's component resolution refuses constrained (Annotated) field types.
    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {}

    @field_validator("*")
    @classmethod
    def _at_least(cls, value: Any, info: ValidationInfo) -> Any:
        bound = cls._minimums.get(info.field_name or "")
        if bound is not None and isinstance(value, int | float):
            minimum, inclusive = bound
            if value < minimum or (value == minimum and not inclusive):
                relation = "at least" if inclusive else "more than"
                raise ValueError(f"expected a number {relation} {minimum:g}, got {value:g}")
        return value


def as_value_error(function: Callable[[Any], _T], value: Any) -> _T:
    """Our own errors as ValueError, so pydantic reports them at the field that caused them."""
    try:
        return function(value)
    except DagsterEncordError as error:
        raise ValueError(str(error)) from None


def no_secret_url(url: str, fix: str) -> str:
    problem = secret_url_problem(url, fix)
    if problem is not None:
        raise ValueError(problem)
    return url


def asset_name(value: str) -> str:
    """A name that prefixes asset keys (a pipeline's, an export's)."""
    if not value or not value.replace("_", "").isalnum():
        raise ValueError(f"{value!r}: use {NAME_HELP}")
    return value


def bucket_url(value: str) -> str:
    """A URL a source opens (its scheme known), with no credential in it."""
    from dagster_encord.sources.registry import provider_for

    as_value_error(provider_for, value)
    return no_secret_url(
        value, "remove it and pass the credential as options: {sas_token_env: VARIABLE_NAME}"
    )


def no_secret_options(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Provider options without a literal credential (they come as <option>_env)."""
    problem = secret_option_problem(value or {})
    if problem is not None:
        raise ValueError(problem)
    return value


def env_var_name(value: str | None) -> str | None:
    """An environment variable NAME; a pasted key or token is refused without echoing it."""
    if value is None:
        return None
    if not value.replace("_", "").isalnum() or value[0].isdigit():
        raise ValueError(
            "expected the NAME of an environment variable (letters, digits, _), not its value; "
            "export the key in a variable and give its name here"
        )
    return value
