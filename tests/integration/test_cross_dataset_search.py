"""A real search on digits whose found network then trains on 3-channel synthetic images
(``--transfer-to``, ``nas_service.cli.transfer_to``)."""

from pathlib import Path

import torch
from mlflow.tracking import MlflowClient

from nas_service.cli.run import main as run_main
from nas_service.tracking.queries import downloaded_checkpoint
from nas_service.tracking.tags import PARENT_RUN_ID_TAG
from trainables.checkpoints import read_checkpoint
from trainables.metrics.uniform import closest_uniform_depths
from trainables.spec import ArchSpec


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0).item()


def test_a_search_then_trains_its_found_network_on_another_data_set(
    ray_session, tmp_path, tracking_uri, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    code = run_main(
        [
            "--iterations",
            "1",
            "--m0",
            "1",
            "--epochs",
            "1",
            "--scoring-samples",
            "200",
            "--max-train-images",
            "500",
            "--tracking-uri",
            tracking_uri,
            "--name",
            "digits",
            "--transfer-to",
            "synthetic",
            "--finetune-epochs",
            "2",
        ]
    )
    assert code == 0
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("stagewise-nas").experiment_id
    parents = {
        r.info.run_name: r for r in client.search_runs([experiment]) if PARENT_RUN_ID_TAG not in r.data.tags
    }
    found_run = parents["digits"].data.tags["nas.final_run_id"]
    found = client.get_run(found_run).data.params["depths"]
    transfer = parents["digits-to-synthetic"]
    assert transfer.data.tags["nas.method"] == "transfer-to"
    assert transfer.data.params["transfer_from"] == f"runs:/{found_run}"
    children = {
        r.data.params["role"]: r
        for r in client.search_runs([experiment], f"tags.`{PARENT_RUN_ID_TAG}` = '{transfer.info.run_id}'")
    }
    target = ArchSpec(depths=tuple(int(m) for m in found.split("-")), in_channels=3, image_size=32)
    uniform = "-".join(map(str, closest_uniform_depths(target)))
    assert {role: c.data.params["depths"] for role, c in children.items()} == {
        "scratch": found,
        "finetuned": found,
        "reference": uniform,
    }
    assert children["finetuned"].data.metrics["epoch"] == 2
    assert children["scratch"].data.metrics["epoch"] == 1
    assert children["scratch"].data.metrics["images_seen"] == 500  # the subset applies there too

    def weights(run_id):
        with downloaded_checkpoint(client, run_id) as folder:
            return read_checkpoint(folder)[1]["model"]

    source, tuned, scratch = (
        weights(r) for r in (found_run, children["finetuned"].info.run_id, children["scratch"].info.run_id)
    )
    key = "stages.2.0.conv2.weight"  # after two epochs the fine-tuned copy is still the source
    assert cosine(tuned[key], source[key]) > 0.9 > 0.3 > abs(cosine(scratch[key], source[key]))
    assert tuned["stem.0.weight"].shape[1] == 3 and source["stem.0.weight"].shape[1] == 1
    table = (Path("nas_results") / "digits-to-synthetic" / "transfer.md").read_text()
    assert f"fine-tuned from runs:/{found_run}" in table and f"| reference | {uniform} |" in table

    # --resume continues the transfer Tune saved (here: finished) instead of starting another
    assert run_main(["--resume", "--name", "digits", "--tracking-uri", tracking_uri]) == 0
    transfers = [
        r.info.run_id for r in client.search_runs([experiment]) if r.info.run_name == "digits-to-synthetic"
    ]
    assert transfers == [transfer.info.run_id]
    assert (
        len(client.search_runs([experiment], f"tags.`{PARENT_RUN_ID_TAG}` = '{transfer.info.run_id}'")) == 3
    )
