"""The network ``--transfer-from`` names (a checkpoint folder or ``runs:/<run id>``), loaded and
checked against every network the search may build before any trial starts: a donor too shallow
or of another module type is one line, not a failed trial."""

from __future__ import annotations

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from nas_service.config import SearchConfig
from nas_service.core.errors import ConfigError
from nas_service.limits import needed_depths
from nas_service.tracking.queries import downloaded_checkpoint
from trainables.spec import ArchSpec
from trainables.transfer import Donor, TransferError, load_donor


def resolve_donor(config: SearchConfig, in_channels: int) -> Donor:
    """The ``--transfer-from`` donor, checked against every network the search may build."""
    donor = load_donor_source(config)
    widths = ArchSpec(depths=config.start_depths, module=config.module, widths=config.widths).widths
    try:
        donor.check_can_give(needed_depths(config), config.module, widths, in_channels)
    except TransferError as error:
        raise ConfigError(f"--transfer-from {config.transfer_from}: {error}") from None
    return donor


def load_donor_source(config: SearchConfig) -> Donor:
    """The network ``--transfer-from`` names: a checkpoint folder or ``runs:/<run id>``."""
    source = str(config.transfer_from)
    try:
        if source.startswith("runs:/"):
            run_id = source.removeprefix("runs:/").split("/")[0]
            with downloaded_checkpoint(MlflowClient(config.tracking_uri), run_id) as folder:
                return load_donor(folder)
        return load_donor(source)
    except TransferError as error:
        raise ConfigError(f"--transfer-from {source}: {error}") from None
    except MlflowException as error:
        raise ConfigError(f"--transfer-from {source}: {error.message}") from None
