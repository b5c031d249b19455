"""The Python API: ``search(SearchConfig(...))`` runs a stage-wise search from a notebook or a
script, exactly as ``stagewise-nas run`` does from the shell, and returns a typed result.

    from nas_service import SearchConfig, search

    result = search(SearchConfig(dataset="digits", iterations=2, epochs=3))
    result.depths, result.model_uri, result.candidates

Bad settings raise ``ConfigError`` with the command line's message, before Ray starts.  Progress
goes to the ``nas_service`` logger (``logging.basicConfig(level=logging.INFO)`` shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from nas_service.config import SearchConfig
from nas_service.core.errors import SearchFailed
from nas_service.limits import growth_costs
from nas_service.validation import resolve

if TYPE_CHECKING:
    import pandas as pd
    from ray.tune import ResultGrid


@dataclass(frozen=True)
class SearchResult:
    """What a stage-wise search found and how.

    ``depths``: the found network's modules per stage.  ``decisions``: one record per iteration
    that ran (A, T, their per-stage scores, which stages grew, the runs they came from).
    ``candidates``: one row per trained network (Table III measures, importance per stage).
    ``model_uri``: the found network as an MLflow model (``mlflow.pytorch.load_model``), ``None``
    when it was not trained (a budget ended the search first).  ``results``: Tune's result grid.
    ``settings``: what the search ran with (a resumed search's saved settings).  ``transfer``:
    the ``transfer_to`` results, when asked for.
    """

    depths: tuple[int, ...]
    run_name: str | None
    measures: dict[str, Any]
    decisions: list[dict[str, Any]]
    converged: dict[str, Any] | None
    stopped_by_budget: bool
    spent: dict[str, float]
    parent_run_id: str
    model_uri: str | None
    candidates: pd.DataFrame
    results: ResultGrid
    settings: SearchConfig
    transfer: dict[str, Any] | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> SearchResult:
        return cls(
            depths=tuple(int(m) for m in record["depths"].split("-")),
            run_name=record["run_name"],
            measures=record["measures"],
            decisions=record["iterations"],
            converged=record.get("converged"),
            stopped_by_budget=bool(record.get("stopped_by_budget")),
            spent=record["spent"],
            parent_run_id=record["parent_run_id"],
            model_uri=record["model_uri"],
            candidates=record["candidates"],
            results=record["results"],
            settings=record["settings"],
            transfer=record.get("transfer"),
        )


def search(config: SearchConfig | None = None, /, **settings: Any) -> SearchResult:
    """Run a stage-wise search; ``settings`` override fields of ``config`` (or of the defaults):
    ``search(dataset="digits", iterations=2)``.

    Raises ``ConfigError`` or ``DatasetError`` for bad settings or data (before Ray starts),
    ``SearchFailed`` when a candidate cannot be trained and ``SearchInterrupted`` when a signal
    stopped it (``search(name=..., resume=True)`` continues it).
    """
    config = resolve(replace(config or SearchConfig(), **settings))
    return SearchResult.from_record(run_resolved(config))


def run_resolved(config: SearchConfig) -> dict[str, Any]:
    """The search of a validated config (``resolve`` or the command line's parser): data loaded
    and checked first, then the search, then ``transfer_to`` if asked; the search's record."""
    data = None if config.resume else config.load_data()  # a resumed search loads its own
    transfer_data = config.load_transfer_data() if config.transfer_to and data else None
    costs = growth_costs(config, data) if data is not None else None  # the first A fits
    from nas_service.methods.stagewise import search as stagewise_search  # the heavy imports

    record = stagewise_search(config, data, costs)
    settings = record["settings"]  # a resumed search's are its saved ones
    if settings.transfer_to:
        found_run_id = record["measures"].get("mlflow_run_id")
        if found_run_id is None:
            raise SearchFailed(
                f"--transfer-to {settings.transfer_to}: the search ended "
                f"before its found network {record['depths']} was trained"
            )
        from nas_service.methods.cross_dataset import transfer_found_network, transfer_started

        target = settings.transfer_target(found_run_id)
        if config.resume and transfer_started(target):  # continue it, do not start over
            target, transfer_data = replace(target, resume=True), None
        record["transfer"] = transfer_found_network(target, transfer_data)
    return record
