"""A new MLflow sqlite store, built beside its place while Ray starts.

Creating a sqlite store runs MLflow's schema migrations (3-5 s on a laptop CPU), the largest part
of a first search's start after Ray's own.  A search must leave no store behind when the cluster
refuses it (``trial_resources``), which is known only once Ray runs, so the driver builds the
tables in a hidden file in the store's folder while Ray starts (``build_aside``), then either
moves the file into place (``move_into_place``) or removes it (``discard``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from mlflow.tracking import MlflowClient

from nas_service.preflight import sqlite_path, store_exists

logger = logging.getLogger(__name__)


def build_aside(tracking_uri: str) -> Path | None:
    """The tables of the sqlite store at ``tracking_uri``, created in a hidden file beside it;
    ``None`` when the store exists or is not a sqlite file, and when building fails (a folder
    that cannot be written, say): the store is then created where it is first opened, which
    reports the problem in its usual place."""
    if store_exists(tracking_uri):
        return None
    target = sqlite_path(tracking_uri)
    aside = target.with_name(f".{target.name}.{os.getpid()}.new")
    try:
        discard(aside)  # left by an earlier process of the same id
        MlflowClient(f"sqlite:///{aside}").search_experiments(max_results=1)  # the migrations
    except Exception as error:  # only the time it was to save is lost
        logger.debug("building %s aside failed: %s", tracking_uri, error)
        discard(aside)
        return None
    return aside


def move_into_place(aside: Path | None, tracking_uri: str) -> None:
    """``aside`` becomes the store at ``tracking_uri``, unless a store appeared there meanwhile
    (another search started in the same folder): that one is kept, and ``aside`` removed."""
    if aside is None:
        return
    try:
        os.link(aside, sqlite_path(tracking_uri))  # never replaces an existing file
    except FileExistsError:
        logger.debug("%s appeared while Ray started: kept", tracking_uri)
    except OSError as error:  # no hard links there: the store is created where first opened
        logger.debug("moving the store built aside to %s failed: %s", tracking_uri, error)
    finally:
        discard(aside)


def discard(aside: Path | None) -> None:
    """Remove ``aside`` if it is there (a failed build may not have created it)."""
    if aside is not None:
        with contextlib.suppress(OSError):
            aside.unlink()
