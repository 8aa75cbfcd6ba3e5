"""`EncordPipeline`: the pipeline as a component, declared in a `defs.yaml`.

```yaml
type: dagster_encord.EncordPipeline
attributes:
  name: cams
  encord: {ssh_private_key_env: ENCORD_SSH_KEY}   # the variable's NAME; the key never enters YAML
  source: {url: s3://my-bucket, prefix: cams/}
  registration: {folder: landing, integration: my-s3}
```
The fields are `dagster_encord.config.PipelineConfig`'s, described there; `build_defs` is one
call to the public factory, as dagster-fivetran's component does.
"""

# No `from __future__ import annotations`: dagster resolves the model's annotations at runtime.
import dagster as dg

from dagster_encord.config import PipelineConfig
from dagster_encord.dagster.factory import build_encord_ingestion


class EncordPipeline(PipelineConfig, dg.Component, dg.Resolvable):
    """One bucket -> Encord pipeline: listing, registration, metadata, sensors and checks."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        config = self.resolve_paths(context.path)
        config.check_files(f"{context.path}/defs.yaml")
        return build_encord_ingestion(config)
