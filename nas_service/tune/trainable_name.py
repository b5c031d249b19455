"""The name a search's trainable is registered under in Tune.

Tune registers a Tuner's trainable in a registry shared by the whole driver (and its cluster),
keyed by the trainable's name.  Two searches running in one driver (``nas_service.tune.at_once``)
under one name would each overwrite the other's registration, and a trial could start with the
other search's settings (its data, criterion, epochs): so each search registers its own name.  A
resumed search must give Tune the name it was saved with, read from Tune's ``tuner.pkl`` (searches
saved before names were per search used ``train_candidate``).

The registry itself is not safe for threads (ray 2.60's ``_Registry.flush_values`` iterates a dict
that another thread's registration may be adding to), so ``register`` registers under a lock and
the Tuner is given the name, which Tune then does not register again.
"""

from __future__ import annotations

import pickle
import threading

from ray import tune
from ray.train._internal.storage import get_fs_and_path

BASE_NAME = "train_candidate"
TUNER_STATE_FILE = "tuner.pkl"  # Tune's own: the Tuner's settings, with the trainable's name
_registering = threading.Lock()


def trainable_name(search_name: str) -> str:
    return f"{BASE_NAME}-{search_name}"


def saved_trainable_name(experiment_path: str) -> str:
    """The name the saved search in ``experiment_path`` (a folder or URI) registered."""
    fs, path = get_fs_and_path(experiment_path)
    with fs.open_input_file(f"{path}/{TUNER_STATE_FILE}") as stream:
        state = pickle.loads(stream.readall())  # the search's own file, written by this tool's Tune
    return state.get("__trainable_name") or BASE_NAME


def register(name: str, trainable) -> str:
    """Register ``trainable`` under ``name`` in Tune's registry, one thread at a time; ``name``."""
    with _registering:
        tune.register_trainable(name, trainable)
    return name
