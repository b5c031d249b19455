"""Weight transfer: which tensors a candidate takes from its donor and the donor checks (the CLI
and a real transfer search: tests/integration/test_transfer_cli.py)."""

import re

import pytest
import torch
from donors import save_donor, trained_donor

from trainables.checkpoints import CHECKPOINT_FILE
from trainables.models import build_model
from trainables.spec import ArchSpec
from trainables.transfer import TransferError, load_donor, transfer_weights


def test_a_candidate_takes_the_first_modules_of_each_donor_stage():
    donor = trained_donor((3, 3, 3))
    candidate = build_model(ArchSpec(depths=(2, 1, 3)))
    copied = transfer_weights(candidate, donor)
    state = candidate.state_dict()
    assert set(copied) == set(state)  # stem, every module, head
    for name, tensor in state.items():
        assert torch.equal(tensor, donor.state[name]), name
    assert "stages.0.2.conv1.weight" in donor.state and "stages.0.2.conv1.weight" not in state


def test_another_data_sets_head_stays_freshly_initialised():
    donor = trained_donor((3, 3, 3), num_classes=5)
    torch.manual_seed(7)
    candidate = build_model(ArchSpec(depths=(1, 1, 1), num_classes=10))
    fresh_head = candidate.head.weight.detach().clone()
    copied = transfer_weights(candidate, donor)
    assert "head.weight" not in copied and torch.equal(candidate.head.weight, fresh_head)
    assert torch.equal(candidate.stem[0].weight, donor.state["stem.0.weight"])


@pytest.mark.parametrize(
    "donor_kwargs,candidate,message",
    [
        ({"depths": (3, 1, 3)}, (2, 2, 2), "donor stage 2 has 1 modules, the search needs up to 2"),
        ({"depths": (3, 3, 3), "widths": (8, 16, 32)}, (1, 1, 1), "widths [8, 16, 32]"),
        ({"depths": (3, 3, 3), "module": "bottleneck"}, (1, 1, 1), "donor is a 'bottleneck' network"),
        ({"depths": (3, 3, 3, 3)}, (1, 1, 1), "donor has 4 stages"),
    ],
)
def test_a_donor_that_cannot_give_is_refused_by_name(donor_kwargs, candidate, message):
    donor = trained_donor(**donor_kwargs)
    with pytest.raises(TransferError, match=re.escape(message)):
        donor.check_can_give(candidate, "basic", (16, 32, 64), 3)


def test_a_donor_loads_from_a_checkpoint_folder(tmp_path):
    donor = trained_donor((2, 2, 2))
    save_donor(tmp_path / "donor", donor)
    loaded = load_donor(tmp_path / "donor" / CHECKPOINT_FILE)
    assert loaded.spec == donor.spec
    assert all(torch.equal(loaded.state[k], v) for k, v in donor.state.items())
    with pytest.raises(TransferError, match="lacks architecture.json"):
        load_donor(tmp_path)
