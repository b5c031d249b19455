"""Whatever a user can type wrong ends in exit status 2 and one line naming the flag or file and the
bad value, never a traceback; all but the resource requests fail before Ray starts."""

import gzip
import io
import json
import pickle
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from dataset_files import make_idx_folder, write_cifar, write_idx
from PIL import Image


def idx_with_bad_magic(tmp_path):
    make_idx_folder(tmp_path, compress=True)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(b"\x00\x00\x09\x03" + b"\x00" * 16)
    return (
        ["--dataset", "idx", "--data-dir", str(tmp_path)],
        "train-images-idx3-ubyte.gz has magic 0x00000903",
    )


def idx_with_fewer_labels(tmp_path):
    make_idx_folder(tmp_path, compress=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(59, np.uint8), compress=False)
    return (["--dataset", "idx", "--data-dir", str(tmp_path)], "has 60 images but")


def idx_truncated(tmp_path):
    make_idx_folder(tmp_path, compress=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    return (["--dataset", "idx", "--data-dir", str(tmp_path)], "its header (60, 12, 12) says")


def cifar_label_out_of_range(tmp_path):
    write_cifar(tmp_path, "cifar10")
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    content = pickle.loads(batch.read_bytes())
    content[b"labels"][0] = 12
    batch.write_bytes(pickle.dumps(content))
    return (["--dataset", "cifar10", "--data-dir", str(tmp_path)], "labels must be in [0, 9]")


def cifar_missing_batch(tmp_path):
    write_cifar(tmp_path, "cifar10")
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    return (["--dataset", "cifar10", "--data-dir", str(tmp_path)], "lacks data_batch_3")


def empty_image_folder(tmp_path):
    (tmp_path / "photos").mkdir()
    return (["--dataset", "imagefolder", "--data-dir", str(tmp_path / "photos")], str(tmp_path / "photos"))


def cifar_label(label, fragment):
    def build(tmp_path):
        write_cifar(tmp_path, "cifar10")
        batch = tmp_path / "cifar-10-batches-py" / "data_batch_1"
        content = pickle.loads(batch.read_bytes())
        content[b"labels"][0] = label
        batch.write_bytes(pickle.dumps(content))
        return ["--dataset", "cifar10", "--data-dir", str(tmp_path)], fragment

    return build


def npz_file(fragment, **arrays):
    def build(tmp_path):
        np.savez(tmp_path / "data.npz", **arrays)
        return ["--dataset", "npz", "--data-dir", str(tmp_path / "data.npz")], fragment

    return build


def npz_of(labels, fragment, count=40):
    images = np.random.default_rng(0).integers(0, 256, (count, 8, 8), dtype=np.uint8)
    return npz_file(fragment, x=images, y=np.asarray(labels, dtype=np.int64))


def raw_file(filename, content: bytes, dataset, fragment):
    def build(tmp_path):
        (tmp_path / filename).write_bytes(content)
        return ["--dataset", dataset, "--data-dir", str(tmp_path / filename)], fragment

    return build


def npy_named_npz(tmp_path):
    np.save(tmp_path / "data.npy", np.zeros((4, 8, 8), np.uint8))
    (tmp_path / "data.npy").rename(tmp_path / "data.npz")
    return (
        ["--dataset", "npz", "--data-dir", str(tmp_path / "data.npz")],
        "data.npz is one array, not an .npz archive",
    )


def idx_variant(fragment, n_train=60, test_size=12, labels=None):
    def build(tmp_path):
        make_idx_folder(tmp_path, compress=False, n_train=n_train)
        if test_size != 12:
            write_idx(
                tmp_path / "t10k-images-idx3-ubyte",
                np.zeros((20, test_size, test_size), np.uint8),
                compress=False,
            )
        if labels is not None:
            write_idx(tmp_path / "train-labels-idx1-ubyte", np.resize(labels, n_train), compress=False)
        return ["--dataset", "idx", "--data-dir", str(tmp_path)], fragment

    return build


def png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose header says ``width`` x ``height`` (CRC fixed up)."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def decompression_bomb(tmp_path):
    for name in ("a", "b"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "photos" / name / "ok.png")
    (tmp_path / "photos" / "a" / "huge.png").write_bytes(png_claiming(40000, 40000))
    return (
        ["--dataset", "imagefolder", "--data-dir", str(tmp_path / "photos")],
        "huge.png is too large to decode safely",
    )


def prepared_set(tmp_path):
    """A prepared (mapped) data set's folder."""
    from trainables.datasets import load_dataset
    from trainables.datasets.mapped import write_mapped

    return write_mapped(load_dataset("digits", seed=0), tmp_path / "prepared", {})


def mapped_with_truncated_array(tmp_path):
    path = prepared_set(tmp_path) / "x_val.npy"
    path.write_bytes(path.read_bytes()[:-100])
    return (["--dataset", "mapped", "--data-dir", str(path.parent)], "the val split cannot be read")


def mapped_with_a_new_validation_split(tmp_path):
    return (
        ["--dataset", "mapped", "--data-dir", str(prepared_set(tmp_path)), "--val-fraction", "0.3"],
        "--val-fraction 0.3: a mapped data set keeps the validation split it was written with (360 images)",
    )


def config_file(text, fragment):
    def build(tmp_path):
        (tmp_path / "search.yaml").write_text(text)
        return ["--config", str(tmp_path / "search.yaml")], fragment

    return build


def flags(*argv, fragment):
    return lambda tmp_path: (list(argv), fragment)


def command(name, *argv, fragment):
    """A case of ``stagewise-nas <name>`` rather than of the search's own entry point."""
    return lambda tmp_path: ([name, *argv], fragment)


def export_onto(kind: str):
    """``export --output`` naming what is already there: a file or a folder."""

    def build(tmp_path):
        target = tmp_path / "net.pt2"
        target.mkdir() if kind == "folder" else target.write_text("someone's network")
        fragment = (
            f"--output {target}: is an existing folder"
            if kind == "folder"
            else f"--output {target}: already exists (an export never overwrites a file)"
        )
        return ["export", "--run-id", "abc", "--format", "pt2", "--output", str(target)], fragment

    return build


def config_bytes(data: bytes, fragment):
    def build(tmp_path):
        (tmp_path / "search.yaml").write_bytes(data)
        return ["--config", str(tmp_path / "search.yaml")], fragment

    return build


def environment(variables, *argv, fragment):
    """A case whose environment has ``variables`` (set for it alone)."""
    return lambda tmp_path: (list(argv), fragment, variables)


def existing_search(tmp_path):
    (tmp_path / "nas_results" / "taken").mkdir(parents=True)
    return ["--name", "taken"], "--name 'taken': a search of that name is already in"


def unwritable_storage(tmp_path):
    (tmp_path / "file").write_text("")
    return ["--storage-path", str(tmp_path / "file" / "sub")], "--storage-path"


BEFORE_RAY = {
    "unknown dataset": flags("--dataset", "mnist3", fragment="--dataset 'mnist3'"),
    "no data dir": flags("--dataset", "idx", fragment="--data-dir is required for dataset 'idx'"),
    "missing data dir": flags(
        "--dataset",
        "idx",
        "--data-dir",
        "/nowhere/fmnist",
        fragment="--data-dir /nowhere/fmnist does not exist",
    ),
    "corrupt IDX header": idx_with_bad_magic,
    "image/label count mismatch": idx_with_fewer_labels,
    "truncated IDX file": idx_truncated,
    "labels out of range": cifar_label_out_of_range,
    "missing CIFAR batch": cifar_missing_batch,
    "empty image folder": empty_image_folder,
    "negative npz label": npz_of([-1] + [0, 1] * 19 + [1], "labels must be in [0, 1], found -1..1"),
    "a label of 10**12": npz_of(
        [0, 1] * 19 + [0, 10**12],
        "labels must be 0..1000000000000 with training images of every class; 3 of the 1000000000001 classes",
    ),
    "single-class npz": npz_of([0] * 40, "1 class; a classifier needs at least 2"),
    "npz with empty arrays": npz_file(
        "has no images", x=np.zeros((0, 8, 8), np.uint8), y=np.zeros(0, np.int64)
    ),
    "empty .npz file": raw_file("data.npz", b"", "npz", "data.npz is not a readable .npz file"),
    ".npy given as npz": npy_named_npz,
    "mapped folder that prepare-data did not write": flags(
        "--dataset",
        "mapped",
        "--data-dir",
        "/tmp",
        fragment="--data-dir /tmp is not a prepared data set (no meta.json)",
    ),
    "mapped folder with a truncated array": mapped_with_truncated_array,
    "mapped set with a new validation split": mapped_with_a_new_validation_split,
    "IDX without images": idx_variant("train-images-idx3-ubyte holds no images", n_train=0),
    "IDX test images of another size": idx_variant("every split must hold images of one shape", test_size=10),
    "IDX labels with gaps": idx_variant(
        "labels must be 0..254 with training images of every class; 3 of the 255 classes",
        labels=[0, 127, 254],
    ),
    "CIFAR label -1": cifar_label(-1, "labels must be in [0, 9], found -1..9"),
    "fractional CIFAR label": cifar_label(3.7, "its labels must be integers, found 3.7"),
    "image decompression bomb": decompression_bomb,
    "synthetic images too large to hold": flags(
        "--dataset",
        "synthetic",
        "--image-size",
        "1024",
        fragment="--image-size 1024: must be between 8 and 512",
    ),
    "more stages than the images allow": flags(
        "--stages", "5", fragment="--stages 5: digits images are 8x8, and 5 stages need at least 32x32"
    ),
    "a module type whose stages the images cannot hold": flags(
        "--module", "bottleneck", fragment="--stages 4: digits images are 8x8"
    ),
    "m0 0": flags("--m0", "0", fragment="--m0 0: must be at least 1"),
    "delta 0": flags("--delta", "0", fragment="--delta 0: must be at least 1"),
    "delta negative": flags("--delta", "-2", fragment="--delta -2"),
    "iterations 0": flags("--iterations", "0", fragment="--iterations 0"),
    "epochs 0": flags("--epochs", "0", fragment="--epochs 0"),
    "epochs not a number": flags("--epochs", "ten", fragment="--epochs: invalid int value: 'ten'"),
    "negative GPUs": flags("--gpus-per-trial", "-1", fragment="--gpus-per-trial -1"),
    "zero CPUs": flags("--cpus-per-trial", "0", fragment="--cpus-per-trial 0"),
    "unknown criterion": flags("--criterion", "gini", fragment="--criterion 'gini'"),
    "criterion that cannot be imported": flags(
        "--criterion", "no_such_module:score", fragment="criterion 'no_such_module:score' cannot be imported"
    ),
    "unknown no-growth policy": flags(
        "--on-no-growth", "forever", fragment="--on-no-growth 'forever': must be one of"
    ),
    "confidence above one": flags("--min-confidence", "1.5", fragment="--min-confidence 1.5"),
    "confidence without a bootstrap": flags(
        "--min-confidence", "0.9", "--bootstrap", "0", fragment="needs --bootstrap of at least 10"
    ),
    "negative parameter limit": flags("--max-params", "-1", fragment="--max-params -1.0"),
    "first network over the MAC limit": flags(
        "--m0",
        "2",
        "--max-macs",
        "1e6",
        fragment="--max-macs 1e+06: 2-2-2 has 1.64826e+06, the first architecture is already over the limit",
    ),
    "validation fraction of one": flags("--val-fraction", "1", fragment="--val-fraction 1.0"),
    "unknown module": flags("--module", "cell9", fragment="--module 'cell9'"),
    "unknown preset": flags("--preset", "slow", fragment="--preset 'slow'"),
    "unknown schedule": flags(
        "--schedule", "linear", fragment="--schedule 'linear': must be one of step, cosine"
    ),
    "unknown precision": flags("--precision", "fp8", fragment="--precision 'fp8'"),
    "unknown compile": flags("--compile", "yes", fragment="--compile 'yes'"),
    "unknown flag": flags("--epoch", "3", fragment="unrecognized arguments: --epoch"),
    "unknown config key": config_file("m0: 4\nepoch: 3\n", "unknown key 'epoch'"),
    "YAML syntax error": config_file("m0: [4\n", "not valid YAML"),
    "config not a mapping": config_file("- 4\n", "must be a mapping"),
    "config value of the wrong type": config_file("m0: four\n", "--m0 'four': must be int"),
    "missing config file": flags("--config", "nothere.yaml", fragment="--config nothere.yaml"),
    "depths of the wrong length": flags(
        "--initial-depths", "6-6", "--stages", "3", fragment="--initial-depths '6-6': has 2 stages"
    ),
    "depth of zero": flags("--initial-depths", "6-0-6", fragment="6-0-6"),
    "bad references": flags("--references", "7,x", fragment="--references '7,x'"),
    "a reference given twice": flags(
        "--references", "7,07", fragment="--references '7,07': 07 is given twice"
    ),
    "unwritable storage path": unwritable_storage,
    "unreachable tracking server": flags(
        "--tracking-uri",
        "http://127.0.0.1:9",
        fragment="--tracking-uri 'http://127.0.0.1:9': cannot reach the MLflow server",
    ),
    "tracking file in a missing folder": flags(
        "--tracking-uri", "sqlite:////nowhere/mlflow.db", fragment="folder /nowhere does not exist"
    ),
    "a tracking URI MLflow cannot store runs at": flags(
        "--tracking-uri", "ftp://x", fragment="--tracking-uri 'ftp://x': MLflow stores runs at"
    ),
    "a folder as the sqlite file": lambda tmp_path: (
        ["--tracking-uri", f"sqlite:///{tmp_path}"],
        f"{tmp_path} is a folder, not a database",
    ),
    "a sqlite URI to another kind of file": lambda tmp_path: (
        (tmp_path / "notes.db").write_text("hello"),
        ["--tracking-uri", f"sqlite:///{tmp_path / 'notes.db'}"],
        "notes.db is not an SQLite database",
    )[1:],
    "a storage URI without a file system": flags(
        "--storage-path",
        "foo://bucket/x",
        fragment="--storage-path 'foo://bucket/x': cannot use it (Unrecognized filesystem type",
    ),
    "unknown country": flags("--country", "XYZ", fragment="--country 'XYZ'"),
    "tiny images": flags("--dataset", "synthetic", "--image-size", "4", fragment="--image-size 4"),
    "a folder for a data set without files": flags(
        "--data-dir", "/tmp", fragment="--data-dir /tmp: the digits data set does not take it"
    ),
    "a size for a data set of fixed size": flags(
        "--image-size", "16", fragment="--image-size 16: the digits data set does not take it"
    ),
    "an unreachable Ray cluster": environment(
        {"RAY_ADDRESS": "127.0.0.1:1"},
        fragment=("RAY_ADDRESS '127.0.0.1:1': no cluster answers there (Connection refused)"),
    ),
    "a dashboard address as RAY_ADDRESS": environment(
        {"RAY_ADDRESS": "http://127.0.0.1:8265"},
        fragment="RAY_ADDRESS 'http://127.0.0.1:8265': that is a dashboard address",
    ),
    "an infinite learning rate": flags("--lr", "inf", fragment="--lr inf: must be a finite number"),
    "a boolean for a number in YAML": config_file(
        "epochs: true\n", "--epochs True: must be int, not true or false"
    ),
    "a YAML key given twice": config_file("m0: 2\nm0: 3\n", "key 'm0' is given twice"),
    "a negative seed": flags("--seed", "-1", fragment="--seed -1: must be between 0 and 2**32 - 1"),
    "fewer training images than classes": flags(
        "--max-train-images", "5", fragment="--max-train-images 5: digits has 10 classes"
    ),
    "a name that leaves the storage path": flags(
        "--name", "../../escape", fragment="--name '../../escape': must be"
    ),
    "a name with a space": flags("--name", "my search", fragment="--name 'my search': must be"),
    "an empty name": flags("--name", "", fragment="--name '': must be"),
    "the name of an existing search": existing_search,
    "zero learning rate": flags("--lr", "0", fragment="--lr 0"),
    "zero batch size": flags("--batch-size", "0", fragment="--batch-size 0"),
    "negative budget": flags("--budget-images", "-5", fragment="--budget-images -5.0"),
    "resume without a name": flags("--resume", fragment="--resume True: needs --name"),
    "a config file in Latin-1": config_bytes(
        "m0: 2\nname: café\n".encode("latin-1"),
        "search.yaml: not UTF-8 text (byte 0xe9 at offset 15); save it as UTF-8",
    ),
    "a config file in UTF-16": config_bytes(
        "m0: 2\n".encode("utf-16"), "search.yaml: the file is UTF-16 text"
    ),
    "a path component longer than a file system allows": flags(
        "--dataset",
        "idx",
        "--data-dir",
        "/tmp/" + "x" * 300,
        fragment="a path component of 300 bytes; file systems take at most 255 per name",
    ),
    "a storage path too long for any file system": flags(
        "--storage-path", "/tmp/" + "a/" * 2100, fragment="--storage-path: the path is 4205 bytes long"
    ),
    "a reference that passes isdigit but not int": flags(
        "--references", "7,\u00b2", fragment="--references '7,²': must be distinct positive integers"
    ),
    "depths in digits other than ASCII": flags(
        "--initial-depths", "2-\u0663-2", fragment="--initial-depths: depths '2-٣-2' must be"
    ),
    "an empty experiment name": flags(
        "--experiment", "", fragment="--experiment '': must name an MLflow experiment"
    ),
    "more CPUs than this machine, where Ray would start": flags(
        "--cpus-per-trial",
        "4096",
        fragment="--cpus-per-trial 4096.0: no node of the cluster "
        "has that many CPUs (the local cluster is this "
        "machine",
    ),
    "more data-parallel workers than this machine holds": flags(
        "--workers-per-trial",
        "64",
        "--batch-size",
        "64",
        fragment="--workers-per-trial 64: the cluster holds at most",
    ),
    "a negative seed among compare's seeds": command(
        "compare", "--seeds", "0,-1", fragment="--seeds '0,-1': must be integers from 0 to 2**32 - 1"
    ),
    "a seed past 2**32 among compare's seeds": command(
        "compare",
        "--seeds",
        "0,4294967296",
        fragment="--seeds '0,4294967296': must be between 0 and 2**32 - 1",
    ),
    "a seed given twice to compare": command(
        "compare", "--seeds", "3,3", fragment="--seeds '3,3': 3 is given twice"
    ),
    "a study past the last seed": command(
        "compare",
        "--seed",
        "4294967295",
        "--study",
        "2",
        fragment="--study 2: its seeds --seed 4294967295 .. 4294967296 go past 2**32 - 1",
    ),
    "an m0 list in other digits": command(
        "compare", "--m0s", "1,\u00b2", fragment="--m0s '1,²': must be distinct positive integers"
    ),
    "export onto an existing file": export_onto("file"),
    "export onto an existing folder": export_onto("folder"),
    "a registry name MLflow refuses": command(
        "export",
        "--run-id",
        "abc",
        "--format",
        "pt2",
        "--register",
        "my net/v1:latest",
        fragment="--register 'my net/v1:latest': MLflow model names cannot contain '/' or ':'",
    ),
    "unknown transfer data set": flags(
        "--transfer-to", "mnist3", fragment="--transfer-to 'mnist3': must be one of"
    ),
    "transfer data set without its folder": flags(
        "--transfer-to",
        "idx",
        fragment="--transfer-to idx: --transfer-data-dir is required for dataset 'idx'",
    ),
    "transfer folder without a data set": flags(
        "--transfer-data-dir", "/tmp", fragment="--transfer-data-dir '/tmp': needs --transfer-to"
    ),
}

AFTER_RAY = {  # only the cluster knows what it holds
    "more GPUs than any node": flags("--gpus-per-trial", "2", fragment="--gpus-per-trial 2.0"),
    "more CPUs than any node": flags("--cpus-per-trial", "64", fragment="--cpus-per-trial 64.0"),
}


# every case in one process, one after the other, as a user would type them: what each printed,
# its exit status and whether Ray had been imported by then
RUN_ALL = """
import contextlib, io, json, os, sys
from nas_service.cli.main import COMMANDS, main as command
from nas_service.cli.run import main
cases, results = json.load(open(sys.argv[1])), {}
for name, (argv, cwd, variables) in cases.items():
    os.chdir(cwd)
    saved = dict(os.environ)
    os.environ.update(variables)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = command(argv) if argv and argv[0] in COMMANDS else main(argv)
        except SystemExit as stop:
            code = stop.code
    os.environ.clear()
    os.environ.update(saved)
    results[name] = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(),
                     "ray imported": "ray" in sys.modules}
json.dump(results, open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def before_ray_results(tmp_path_factory):
    """Each case in its own folder, all run by one ``python`` (a process per case costs a
    second of interpreter start and imports each)."""
    cases, fragments = {}, {}
    for name, build in BEFORE_RAY.items():
        folder = tmp_path_factory.mktemp("case")
        argv, fragments[name], *variables = build(folder)
        cases[name] = (argv, str(folder), variables[0] if variables else {})
    listing = tmp_path_factory.mktemp("cases")
    (listing / "cases.json").write_text(json.dumps(cases))
    done = subprocess.run(
        [sys.executable, "-c", RUN_ALL, str(listing / "cases.json"), str(listing / "results.json")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((listing / "results.json").read_text())
    return {name: (results[name], fragments[name], Path(cases[name][1]), cases[name][0]) for name in cases}


@pytest.mark.parametrize("name", BEFORE_RAY)
def test_bad_input_fails_before_ray_in_one_line(before_ray_results, name):
    result, fragment, folder, _ = before_ray_results[name]
    lines = result["stderr"].strip().splitlines()
    assert result["code"] == 2, result["stderr"]
    assert len(lines) == 1 and fragment in lines[0], result["stderr"]
    argv = before_ray_results[name][3]
    prog = (
        f"stagewise-nas {argv[0]}" if argv and not argv[0].startswith("-") else ("python -m nas_service.run")
    )
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    assert "Ray" not in result["stdout"] + result["stderr"] and not result["ray imported"]
    assert not (folder / "mlflow.db").exists()  # nothing recorded
    assert not (folder / "nas_results").exists() or name == "the name of an existing search"


@pytest.mark.parametrize("build", AFTER_RAY.values(), ids=AFTER_RAY.keys())
def test_impossible_resources_fail_before_any_trial(ray_session, tmp_path, monkeypatch, capsys, build):
    """In the test session's Ray (a CLI process would spend 15 s starting its own)."""
    from nas_service.cli.run import main

    monkeypatch.chdir(tmp_path)
    argv, fragment = build(tmp_path)
    assert main(argv) == 2
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("python -m nas_service.run: error: ")
    assert fragment in stderr.strip().splitlines()[-1]
    assert not (tmp_path / "mlflow.db").exists()
    assert not list(tmp_path.glob(".mlflow.db.*"))  # nor the tables built while Ray started


def test_there_are_at_least_twenty_cases():
    assert len(BEFORE_RAY) + len(AFTER_RAY) >= 20


def test_entry_points_check_settings_before_importing_anything_heavy():
    """What makes a bad flag fail in well under a second: no CLI module imports Ray, torch,
    MLflow, pandas or scikit-learn before its settings are checked."""
    script = (
        "import importlib, sys\n"
        "for name in ('run', 'baselines', 'compare', 'train', 'transfer_to', 'export', "
        "'ensemble', 'report'):\n"
        "    importlib.import_module(f'nas_service.cli.{name}')\n"
        "print(sorted(m for m in ('ray', 'torch', 'mlflow', 'pandas', 'sklearn') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
