"""The configuration's building blocks: a section that refuses unknown fields and checks bounds,
and the checks several sections share (secrets in URLs, environment variable names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from dagster_encord.credentials import secret_url_problem
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
