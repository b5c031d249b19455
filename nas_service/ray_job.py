"""Where a search run as a Ray job must not write: Ray's copy of the job's ``--working-dir``.

``ray job submit --working-dir DIR -- python -m nas_service.run`` starts the entrypoint in the
copy of DIR that Ray unpacked under its session's ``runtime_resources`` folder.  The results
folder and the sqlite MLflow store default to the working directory, so they would land in that
copy, which Ray deletes when its cache needs the room (on a one-machine cluster, even while the
job runs) and with the cluster.  ``require_outside_working_dir_copy`` refuses such a path before
anything is trained.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nas_service.core.errors import ConfigError

# set by Ray's job supervisor for the job's entrypoint: the job's config, runtime environment included
JOB_CONFIG_VARIABLE = "RAY_JOB_CONFIG_JSON_ENV_VAR"


def working_dir_copy() -> Path | None:
    """The working directory when it is Ray's copy of this job's ``--working-dir`` (the job's
    runtime environment names one), else ``None``."""
    text = os.environ.get(JOB_CONFIG_VARIABLE)
    if not text:
        return None
    try:
        runtime_env = json.loads(text).get("runtime_env") or {}
    except (ValueError, AttributeError):
        return None
    return Path.cwd().resolve() if runtime_env.get("working_dir") else None


def require_outside_working_dir_copy(flag: str, value: str, path: Path, instead: str) -> None:
    """A ``ConfigError`` naming ``flag`` when ``path``, where its ``value`` writes, lies in Ray's
    copy of the job's ``--working-dir``; ``instead`` says what to give."""
    copy = working_dir_copy()
    if copy is None or not path.expanduser().resolve().is_relative_to(copy):
        return
    raise ConfigError(
        f"{flag} {value}: inside {copy}, Ray's temporary copy of this job's "
        "--working-dir (the working directory, where the defaults point), which "
        f"Ray deletes when it needs the room or the cluster ends: {instead}"
    )
