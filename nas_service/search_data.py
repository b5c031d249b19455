"""The data set a search's settings name, loaded and split as they say and checked against the
networks they build: ``SearchConfig``'s data methods (``config.load_data()``), a job of their own
beside the declaration of the settings."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from nas_service.core.errors import ConfigError
from trainables.datasets import DatasetError, load_dataset, loader_options
from trainables.module_types import module_type
from trainables.spec import min_image_size

if TYPE_CHECKING:
    from trainables.datasets.splits import DataSplits

Settings = TypeVar("Settings", bound="DataOfSettings")


class DataOfSettings:
    """What ``SearchConfig`` does with its data settings (``dataset``, ``data_dir``,
    ``image_size``, ``val_fraction``, ``max_train_images``, ``seed``, ``transfer_to``,
    ``transfer_data_dir``); mixed into it, so a config loads its own data."""

    def load_data(self) -> DataSplits:
        """The data set these settings name; bad files raise ``DatasetError`` here, which is why
        the CLIs call it before starting Ray."""
        data = self.load_splits()
        self.check_fits(data)
        return data

    def load_splits(self) -> DataSplits:
        """The data set's splits as these settings make them (``--val-fraction``,
        ``--max-train-images``), whatever network will train on them."""
        data = load_dataset(
            self.dataset,
            data_dir=self.data_dir,
            seed=self.seed,
            **({"image_size": self.image_size} if self.image_size else {}),
        )
        if self.val_fraction is not None and self.dataset == "mapped":
            raise ConfigError(
                f"--val-fraction {self.val_fraction}: a mapped data set keeps the "
                f"validation split it was written with ({len(data.y_val)} images); "
                "write another with stagewise-nas prepare-data --val-fraction "
                f"{self.val_fraction}"
            )
        if self.val_fraction is not None:
            data = data.with_val_fraction(self.val_fraction, self.seed)
        if self.max_train_images:
            if self.max_train_images < data.num_classes:
                raise ConfigError(
                    f"--max-train-images {self.max_train_images}: {data.name} has "
                    f"{data.num_classes} classes and the subset keeps at least one "
                    f"image of each: give {data.num_classes} or more"
                )
            data = data.with_train_subset(self.max_train_images, self.seed)
        return data

    def check_fits(self, data: DataSplits) -> None:
        """The networks of these settings can be built for ``data``: a ``ConfigError`` now, not
        a trial that fails after Ray has started."""
        stages, side = len(self.start_depths), data.image_size
        if side < min_image_size(stages):
            resize = " or a larger --image-size" if "image_size" in loader_options(self.dataset) else ""
            raise ConfigError(
                f"--stages {stages}: {data.name} images are {side}x{side}, and "
                f"{stages} stages need at least {min_image_size(stages)}x"
                f"{min_image_size(stages)} (every stage after the first halves "
                f"them; --module {self.module} has {module_type(self.module).stages}"
                f" by default): give fewer --stages{resize}"
            )
        try:
            self.network_spec(self.start_depths, data)
        except ValueError as error:
            raise ConfigError(f"{data.name}: {error}") from None

    def transfer_target(self: Settings, found_run_id: str = "") -> Settings:
        """The settings of ``--transfer-to``: this protocol on the other data set (at its own
        image size), with the found network's run as the donor of the fine-tuned copy."""
        return replace(
            self,
            dataset=self.transfer_to,
            data_dir=self.transfer_data_dir,
            image_size=None,
            val_fraction=None,
            transfer_to=None,
            transfer_data_dir=None,
            transfer_from=f"runs:/{found_run_id}",
            name=f"{self.name}-to-{self.transfer_to}",
            resume=False,
        )

    def load_transfer_data(self) -> DataSplits:
        """The ``--transfer-to`` data, loaded before the search so that a bad folder fails first."""
        try:
            return self.transfer_target().load_data()
        except DatasetError as error:
            message = str(error).replace("--data-dir", "--transfer-data-dir")
            raise ConfigError(f"--transfer-to {self.transfer_to}: {message}") from None
