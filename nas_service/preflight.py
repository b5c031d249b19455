"""What a validated search needs outside this process, checked before Ray starts: the cluster that
``RAY_ADDRESS`` names answers, the MLflow store can record runs, the storage can be written, the
local machine can hold a trial, and nothing is written into Ray's copy of a job's files."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from nas_service.config import SearchConfig
from nas_service.core.errors import ConfigError
from nas_service.ray_job import require_outside_working_dir_copy
from nas_service.value_rules import require


def preflight(config: SearchConfig) -> None:
    """What a validated config needs outside this process, checked before Ray starts: the
    donor folder, the cluster in ``RAY_ADDRESS``, the MLflow store, the storage, and that the
    search's folder is new (or, for ``resume``, there).  A ``ConfigError`` naming the setting."""
    if config.transfer_from and not config.transfer_from.startswith("runs:/"):
        require(
            Path(config.transfer_from).exists(),
            "transfer-from",
            config.transfer_from,
            "does not exist: give a checkpoint folder or runs:/<run id>",
        )
    _check_ray_address(os.environ.get("RAY_ADDRESS"))
    _check_local_cpus(config)
    _check_tracking_uri(config.tracking_uri)
    _check_storage(config.storage_path)
    _check_outside_job_files(config)
    folder = Path(config.storage_path) / config.name
    require(
        config.resume or "://" in config.storage_path or not folder.exists(),
        "name",
        config.name,
        f"a search of that name is already in {folder}: continue it with --resume, or choose another --name",
    )
    if config.resume and "://" not in config.storage_path and not folder.is_dir():
        raise ConfigError(
            f"--resume --name {config.name}: no search of that name in "
            f"{config.storage_path}; nothing to resume"
        )
    if config.resume or str(config.transfer_from).startswith("runs:/"):
        require_existing_store(config.tracking_uri)


def _check_local_cpus(config: SearchConfig) -> None:
    """A Ray that this process will start holds this machine's CPUs: a trial that asks for more
    can never run, which is said before Ray's start is paid (a cluster's nodes are asked once
    joined: ``nas_service.tune.cluster.trial_resources``)."""
    ray = sys.modules.get("ray")
    if os.environ.get("RAY_ADDRESS") or (ray is not None and ray.is_initialized()):
        return
    cpus = os.cpu_count() or 1
    require(
        config.cpus_per_trial <= cpus,
        "cpus-per-trial",
        config.cpus_per_trial,
        f"no node of the cluster has that many CPUs (the local cluster is this machine, with {cpus})",
    )
    workers = config.workers_per_trial
    require(
        workers * config.cpus_per_trial <= cpus,
        "workers-per-trial",
        workers,
        f"the cluster holds at most {int(cpus // config.cpus_per_trial)} workers of "
        f"{config.cpus_per_trial:g} CPUs (the local cluster is this machine, with {cpus}; "
        "--cpus-per-trial)",
    )


def _check_outside_job_files(config: SearchConfig) -> None:
    """Neither the results folder nor a local MLflow store in Ray's copy of a job's
    ``--working-dir`` (``nas_service.ray_job``): both default to the working directory."""
    if "://" not in config.storage_path:
        require_outside_working_dir_copy(
            "--storage-path",
            config.storage_path,
            Path(config.storage_path),
            "give a folder that outlives the job (a mount every node shares, or s3://...), or "
            "set NAS_STORAGE_PATH",
        )
    uri = config.tracking_uri
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "sqlite":
        local_store = sqlite_path(uri)
    elif parsed.scheme in ("", "file"):
        local_store = Path(parsed.path)
    else:
        return
    require_outside_working_dir_copy(
        "--tracking-uri",
        uri,
        local_store,
        "give an MLflow server (http://...) or a sqlite file that outlives the job, or set "
        "MLFLOW_TRACKING_URI",
    )


def default_tracking_uri(uri: str | None) -> str:
    """``uri``, else ``$MLFLOW_TRACKING_URI``, else ``mlflow.db`` in the working directory."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


SQLITE_HEADER = b"SQLite format 3\x00"


# where MLflow can record runs ("" is a plain folder path, a file store)
TRACKING_SCHEMES = ("", "file", "sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks")


def _check_tracking_uri(uri: str) -> None:
    """An MLflow server must answer now, a sqlite file's folder must exist and the file, if any,
    be an SQLite database, and the scheme must be one MLflow records runs at: a search must not
    train for hours and then fail to record its first candidate."""
    scheme = urllib.parse.urlparse(uri).scheme
    if scheme in ("http", "https"):
        try:
            urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5).close()
        except (OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise ConfigError(f"--tracking-uri {uri!r}: cannot reach the MLflow server ({reason})") from None
    elif scheme == "sqlite":
        path = sqlite_path(uri)
        folder = path.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise ConfigError(f"--tracking-uri {uri!r}: folder {folder} does not exist or is not writable")
        if path.is_dir():
            raise ConfigError(f"--tracking-uri {uri!r}: {path} is a folder, not a database file")
        if path.is_file() and path.stat().st_size:
            with open(path, "rb") as handle:
                if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                    raise ConfigError(f"--tracking-uri {uri!r}: {path} is not an SQLite database")
    elif scheme.split("+")[0] not in TRACKING_SCHEMES and not (len(scheme) == 1 and os.name == "nt"):
        raise ConfigError(
            f"--tracking-uri {uri!r}: MLflow stores runs at sqlite:///<file>, "
            "http(s)://<server>, file:<folder> or a database URI (postgresql://, "
            "mysql://, mssql://)"
        )


def sqlite_path(uri: str) -> Path:
    """The database file of a ``sqlite:///<file>`` tracking URI."""
    return Path(uri.removeprefix("sqlite:///"))


def store_exists(uri: str) -> bool:
    """Whether the MLflow store at ``uri`` exists already (a sqlite file is created on first use;
    other stores are assumed to exist)."""
    if urllib.parse.urlparse(uri).scheme != "sqlite":
        return True
    return sqlite_path(uri).is_file()


def require_existing_store(uri: str) -> None:
    """A command that reads a search needs the MLflow store it was recorded in: a missing sqlite
    file is named now (opening it would create an empty store and take seconds), a server must
    answer."""
    _check_tracking_uri(uri)
    if not store_exists(uri):
        raise ConfigError(
            f"--tracking-uri {uri!r}: no MLflow store there "
            f"({uri.removeprefix('sqlite:///')} does not exist): give the "
            "--tracking-uri the search recorded into"
        )


RAY_ADDRESS_TIMEOUT_S = 5.0


def _check_ray_address(address: str | None) -> None:
    """The cluster that ``RAY_ADDRESS`` names must answer now: ``ray.init`` would retry for
    minutes, printing warnings.  (``ray job submit`` gives its drivers a GCS ``host:port``.)"""
    if not address or address in ("auto", "local"):
        return
    scheme, _, target = address.rpartition("://")
    if scheme in ("http", "https"):
        raise ConfigError(
            f"RAY_ADDRESS {address!r}: that is a dashboard address, for `ray job "
            "submit`; to run here, give the head node's host:port (port 6379 by "
            "default), or submit this command with `ray job submit`"
        )
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"RAY_ADDRESS {address!r}: must be host:port (the head node, port 6379 "
            "by default), ray://host:port or auto"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), RAY_ADDRESS_TIMEOUT_S).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(
            f"RAY_ADDRESS {address!r}: no cluster answers there ({reason}): "
            "start one with `ray start --head`, or unset RAY_ADDRESS to start a "
            "local one"
        ) from None


def _check_remote_storage(uri: str) -> None:
    """A storage URI that pyarrow (Tune's file system layer) can open, whose location answers:
    a scheme without a file system or a bucket that cannot be listed is one line now, not a
    traceback after Ray started with the parent run left RUNNING."""
    import pyarrow.fs  # Ray's own dependency; imported only for URIs

    try:
        filesystem, location = pyarrow.fs.FileSystem.from_uri(uri)
        filesystem.get_file_info(location.split("/")[0] or location)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... with one-line causes
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"--storage-path {uri!r}: cannot use it ({reason})") from None


def storage_location(path: str) -> str:
    """A local storage path made absolute (``~`` expanded); URIs (s3://, gs://) as given."""
    return path if "://" in path else str(Path(path).expanduser().resolve())


def _check_storage(path: str) -> None:
    """Local storage must be a folder we can write (or create); URIs (s3://, gs://) must open
    through pyarrow (``_check_remote_storage``)."""
    if "://" in path:
        _check_remote_storage(path)
        return
    folder = Path(path)
    existing = folder  # created when the first trial starts: a refused run leaves no folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"--storage-path {path!r}: {existing} is a file, not a folder")
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as error:
        raise ConfigError(f"--storage-path {path!r}: not writable ({error.strerror})") from None
