"""What the call mixins (storage, datasets, metadata schema, ontologies, projects, labels) need
from `EncordClient`: the SDK client and its cached folder and project lookups. Declared once,
defined there."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from encord.project import Project
    from encord.storage import StorageFolder
    from encord.user_client import EncordUserClient


class SdkCalls:
    _user_client: EncordUserClient
    _folder: Callable[[str], StorageFolder]  # EncordClient resolves and caches folders
    _project: Callable[[str], Project]  # ProjectCalls reads and caches projects
