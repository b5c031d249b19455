"""Loaders on small files written here in each real format (IDX, CIFAR pickles, image folders)."""

import pickle

import numpy as np
import pytest
from dataset_files import make_idx_folder, write_cifar, write_idx
from PIL import Image

from trainables.datasets import DatasetError, load_dataset
from trainables.datasets.idx import read_idx


@pytest.mark.parametrize("compress", [True, False])
def test_idx_folder_gz_and_raw(tmp_path, compress):
    written = make_idx_folder(tmp_path, compress)
    data = load_dataset("idx", data_dir=str(tmp_path), seed=0)
    assert (data.in_channels, data.image_size, data.num_classes) == (1, 12, 3)
    assert len(data.y_train) + len(data.y_val) == 60
    np.testing.assert_array_equal(data.x_test[:, 0], written["t10k"][0])
    np.testing.assert_array_equal(data.y_test, written["t10k"][1])
    # every training image is one of the written ones, with its own label
    lookup = {img.tobytes(): label for img, label in zip(*written["train"], strict=True)}
    assert all(
        lookup[img[0].tobytes()] == label for img, label in zip(data.x_train, data.y_train, strict=True)
    )


def test_idx_header_is_checked(tmp_path):
    make_idx_folder(tmp_path, compress=False)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x09\x99" + bad.read_bytes()[4:])
    with pytest.raises(DatasetError, match="magic 0x00000999"):
        read_idx(bad, 0x803)
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte"):
        load_dataset("idx", data_dir=str(tmp_path))


def test_idx_count_mismatch_names_both_files(tmp_path):
    make_idx_folder(tmp_path, compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(59, np.uint8), True)
    with pytest.raises(DatasetError, match="60 images but .* 59 labels"):
        load_dataset("idx", data_dir=str(tmp_path))


def test_idx_truncated_file(tmp_path):
    make_idx_folder(tmp_path, compress=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DatasetError, match="its header"):
        load_dataset("idx", data_dir=str(tmp_path))


def test_cifar10_pickle_batches(tmp_path):
    written = write_cifar(tmp_path, "cifar10")
    data = load_dataset("cifar10", data_dir=str(tmp_path), seed=0)
    assert len(data.y_train) + len(data.y_val) == 100 and len(data.y_test) == 20
    assert data.x_test.shape == (20, 3, 32, 32)
    # row layout R(1024) G(1024) B(1024) -> channel-first image
    first = written["test_batch"][0][0]
    np.testing.assert_array_equal(data.x_test[0, 1].ravel(), first[1024:2048])
    assert data.flip_ok and data.num_classes == 10


def test_cifar100_uses_fine_labels(tmp_path):
    write_cifar(tmp_path, "cifar100", per_file=200)
    data = load_dataset("cifar100", data_dir=str(tmp_path / "cifar-100-python"), seed=0)
    assert data.num_classes == 100
    assert data.y_test.max() == 99


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "idx", "imagefolder"])
def test_missing_folder_says_what_to_put_there(tmp_path, name):
    with pytest.raises(DatasetError, match=str(tmp_path / "nowhere")):
        load_dataset(name, data_dir=str(tmp_path / "nowhere"))


def write_image_folder(root, classes=("cat", "dog"), per_class=6, size=10, seed=2):
    rng = np.random.default_rng(seed)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")


def test_image_folder_with_train_and_test(tmp_path):
    write_image_folder(tmp_path / "train", per_class=10)
    write_image_folder(tmp_path / "test", per_class=3)
    data = load_dataset("imagefolder", data_dir=str(tmp_path), image_size=16, seed=0)
    assert data.x_train.shape[1:] == (3, 16, 16)
    assert len(data.y_train) + len(data.y_val) == 20 and len(data.y_test) == 6
    assert data.num_classes == 2


def test_image_folder_without_splits_keeps_exact_pixels(tmp_path):
    write_image_folder(tmp_path, per_class=10, size=8)
    data = load_dataset("imagefolder", data_dir=str(tmp_path), image_size=8, seed=0)
    total = len(data.y_train) + len(data.y_val) + len(data.y_test)
    assert total == 20
    saved = np.asarray(Image.open(tmp_path / "cat" / "0.png")).transpose(2, 0, 1)
    everything = np.concatenate([data.x_train, data.x_val, data.x_test])
    assert any(np.array_equal(saved, image) for image in everything)


def test_image_folder_reads_a_folder_behind_links_once(tmp_path):
    """A link back up the tree (and a second link to a class folder already read) adds no image;
    torchvision's ImageFolder would repeat them until the path grew too long."""
    write_image_folder(tmp_path / "photos", per_class=10, size=8)
    (tmp_path / "photos" / "cat" / "loop").symlink_to(tmp_path / "photos" / "cat")
    (tmp_path / "photos" / "cat" / "again").symlink_to(tmp_path / "photos" / "cat" / "loop")
    data = load_dataset("imagefolder", data_dir=str(tmp_path / "photos"), image_size=8, seed=0)
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 20
    images = np.concatenate([data.x_train, data.x_val, data.x_test]).reshape(20, -1)
    assert len(np.unique(images, axis=0)) == 20  # no image in two splits


def test_a_file_behind_links_from_another_class_or_split_is_read_once_where_it_lies(tmp_path, caplog):
    """A link from dog/ to cat/, and one from test/ to train/: each file is read once, under the
    split and class of the folder that holds it, never as a dog nor as a test image too."""
    root = tmp_path / "photos"
    write_image_folder(root / "train", per_class=6, size=8)
    write_image_folder(root / "test", per_class=3, size=8, seed=3)
    (root / "train" / "dog" / "cats").symlink_to(root / "train" / "cat")
    (root / "test" / "cat" / "trained.png").symlink_to(root / "train" / "cat" / "0.png")
    data = load_dataset("imagefolder", data_dir=str(root), image_size=8, seed=0)
    labels = np.concatenate([data.y_train, data.y_val])
    assert np.bincount(labels).tolist() == [6, 6] and np.bincount(data.y_test).tolist() == [3, 3]
    trained = np.asarray(Image.open(root / "train" / "cat" / "0.png")).transpose(2, 0, 1)
    fitted = np.concatenate([data.x_train, data.x_val])
    assert [label for image, label in zip(fitted, labels, strict=True) if np.array_equal(trained, image)] == [
        0
    ]  # once, a cat
    assert not any(np.array_equal(trained, image) for image in data.x_test)
    assert "7 image path(s) lead through links to files the data set already holds" in caplog.text


def test_a_file_outside_the_set_linked_into_two_classes_is_refused(tmp_path):
    write_image_folder(tmp_path / "photos", per_class=4, size=8)
    Image.new("RGB", (8, 8)).save(tmp_path / "shared.png")
    for name in ("cat", "dog"):
        (tmp_path / "photos" / name / "shared.png").symlink_to(tmp_path / "shared.png")
    with pytest.raises(
        DatasetError,
        match=r"shared.png is reached through links from .*cat/"
        r"shared.png and .*dog/shared.png, in two classes",
    ):
        load_dataset("imagefolder", data_dir=str(tmp_path / "photos"), image_size=8)


def test_digits_split_is_stratified_and_seeded():
    first, again, other = (load_dataset("digits", seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(first.y_val, again.y_val)
    assert not np.array_equal(first.y_val, other.y_val)
    counts = np.bincount(first.y_val, minlength=10)
    assert counts.max() - counts.min() <= 2
    assert len(first.y_train) + len(first.y_val) + len(first.y_test) == 1797
    assert first.x_train.dtype == np.uint8 and first.x_train.max() == 255


def test_synthetic_has_the_asked_shape():
    data = load_dataset("synthetic", image_size=20, channels=1, num_classes=4, num_samples=200)
    assert data.x_train.shape[1:] == (1, 20, 20) and data.num_classes == 4


def test_unknown_dataset_is_named():
    with pytest.raises(DatasetError, match="'mnist3'"):
        load_dataset("mnist3")


def test_train_subset_is_stratified_and_keeps_val_and_test():
    data = load_dataset("digits", seed=0)
    subset = data.with_train_subset(200, seed=0)
    assert len(subset.y_train) == 200 and np.bincount(subset.y_train).min() >= 18
    assert subset.y_val is data.y_val and subset.y_test is data.y_test
    assert data.with_train_subset(10_000, seed=0) is data


def test_val_fraction_resplits_train_and_val_and_keeps_test():
    data = load_dataset("digits", seed=0)
    joined = len(data.y_train) + len(data.y_val)
    whole = data.with_val_fraction(0, seed=0)  # the authors' protocol: no validation split
    assert len(whole.y_train) == joined and len(whole.y_val) == 0
    assert whole.x_val.shape == (0, *data.x_train.shape[1:])
    assert sorted(whole.y_train) == sorted(np.concatenate([data.y_train, data.y_val]))
    quarter = data.with_val_fraction(0.25, seed=0)
    assert len(quarter.y_val) == round(0.25 * joined) and len(quarter.y_train) == joined - len(quarter.y_val)
    assert np.abs(np.bincount(quarter.y_val) / len(quarter.y_val) - 0.1).max() < 0.02  # stratified
    assert np.array_equal(quarter.y_val, data.with_val_fraction(0.25, seed=0).y_val)
    assert whole.y_test is data.y_test and quarter.y_test is data.y_test


class RunsCode:
    def __reduce__(self):  # eval: print may be Ray's tqdm-safe print once Ray ran in this process
        return (eval, ("print('this ran')",))


def test_a_cifar_pickle_that_would_run_code_is_refused(tmp_path):
    write_cifar(tmp_path, "cifar10")
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    batch.write_bytes(pickle.dumps({b"data": RunsCode(), b"labels": [0]}))
    with pytest.raises(DatasetError, match="refusing to load builtins.eval"):
        load_dataset("cifar10", data_dir=str(tmp_path))


def write_tiny_imagenet(root, wnids=("n01443537", "n01629819"), per_class=6, val_per_class=2):
    rng = np.random.default_rng(4)
    root.mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    pixels = {}
    for wnid in wnids:
        folder = root / "train" / wnid / "images"
        folder.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
                folder / f"{wnid}_{i}.JPEG"
            )
    (root / "val" / "images").mkdir(parents=True)
    lines = []
    for index in range(val_per_class * len(wnids)):
        wnid = wnids[index % len(wnids)]
        array = np.full((64, 64, 3), 40 * index, dtype=np.uint8)  # flat: JPEG keeps it exactly
        Image.fromarray(array).save(root / "val" / "images" / f"val_{index}.JPEG")
        pixels[f"val_{index}.JPEG"] = array
        lines.append(f"val_{index}.JPEG\t{wnid}\t0\t0\t63\t63")
    (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return pixels


def test_tiny_imagenet_layout_with_val_annotations(tmp_path):
    write_tiny_imagenet(tmp_path / "tiny-imagenet-200")
    data = load_dataset("tinyimagenet", data_dir=str(tmp_path), seed=0)
    assert data.x_train.shape[1:] == (3, 64, 64) and data.num_classes == 2
    assert len(data.y_train) + len(data.y_val) == 12
    # val images are the test split, labelled from val_annotations.txt in file order
    assert data.y_test.tolist() == [0, 1, 0, 1]
    assert data.x_test[2].mean() == pytest.approx(80, abs=1)
    small = load_dataset("tinyimagenet", data_dir=str(tmp_path / "tiny-imagenet-200"), image_size=32, seed=0)
    assert small.x_train.shape[1:] == (3, 32, 32)


def test_tiny_imagenet_annotation_with_an_unknown_class(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    write_tiny_imagenet(root)
    (root / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn99999999\t0\t0\t1\t1\n")
    with pytest.raises(DatasetError, match="val_annotations.txt line 1"):
        load_dataset("tinyimagenet", data_dir=str(tmp_path))


def write_downsampled_imagenet(root, side=16, per_batch=1000, batches=2, first_label=1):
    rng = np.random.default_rng(6)
    written = {}
    for name, folder in [
        *((f"train_data_batch_{b}", "Imagenet16_train") for b in range(1, batches + 1)),
        ("val_data", "Imagenet16_val"),
    ]:
        (root / folder).mkdir(parents=True, exist_ok=True)
        data = rng.integers(0, 256, (per_batch, 3 * side * side), dtype=np.uint8)
        labels = [first_label + i % 1000 for i in range(per_batch)]
        with open(root / folder / name, "wb") as handle:
            pickle.dump({"data": data, "labels": labels, "mean": data.mean(0)}, handle)
        written[name] = (data, labels)
    return written


def test_downsampled_imagenet_batches(tmp_path):
    written = write_downsampled_imagenet(tmp_path)
    data = load_dataset("imagenet32", data_dir=str(tmp_path), seed=0)
    assert data.name == "imagenet16" and data.num_classes == 1000
    assert data.x_test.shape == (1000, 3, 16, 16)
    assert len(data.y_train) + len(data.y_val) == 2000
    val_rows, val_labels = written["val_data"]
    assert data.y_test[:3].tolist() == [label - 1 for label in val_labels[:3]]  # one-based
    np.testing.assert_array_equal(data.x_test[5, 2].ravel(), val_rows[5][512:768])  # B plane


def test_downsampled_imagenet_npz_archives(tmp_path):
    """The official ``_npz`` downloads: ``train_data_batch_N.npz`` and ``val_data.npz``."""
    written = write_downsampled_imagenet(tmp_path)
    for name, (rows, labels) in written.items():
        folder = next(tmp_path.rglob(name)).parent
        (folder / name).unlink()
        np.savez(folder / f"{name}.npz", data=rows, labels=np.asarray(labels), mean=rows.mean(0))
    data = load_dataset("imagenet32", data_dir=str(tmp_path), seed=0)
    assert len(data.y_train) + len(data.y_val) == 2000 and len(data.y_test) == 1000
    assert data.y_test[:3].tolist() == [label - 1 for label in written["val_data"][1][:3]]


def test_downsampled_imagenet_with_zero_based_labels_is_refused(tmp_path):
    write_downsampled_imagenet(tmp_path, first_label=0)
    with pytest.raises(DatasetError, match=r"labels must be in \[1, 1000\]"):
        load_dataset("imagenet32", data_dir=str(tmp_path))


def test_npz_with_named_splits_in_channels_last(tmp_path):
    rng = np.random.default_rng(7)
    x_train = rng.integers(0, 256, (40, 12, 12, 3), dtype=np.uint8)
    x_test = rng.integers(0, 256, (10, 12, 12, 3), dtype=np.uint8)
    np.savez(
        tmp_path / "mine.npz",
        x_train=x_train,
        y_train=np.arange(40) % 4,
        x_test=x_test,
        y_test=np.arange(10) % 4,
    )
    data = load_dataset("npz", data_dir=str(tmp_path), seed=0)
    assert data.x_test.shape == (10, 3, 12, 12) and data.num_classes == 4
    np.testing.assert_array_equal(data.x_test[3, 1], x_test[3, :, :, 1])
    assert not data.flip_ok and len(data.y_train) + len(data.y_val) == 40


def test_npz_with_x_and_y_only_is_split_three_ways(tmp_path):
    images = np.random.default_rng(8).integers(0, 256, (100, 10, 10), dtype=np.uint8)
    np.savez(tmp_path / "all.npz", x=images, y=np.arange(100) % 5)
    data = load_dataset("npz", data_dir=str(tmp_path / "all.npz"), seed=0)
    assert data.x_train.shape[1:] == (1, 10, 10)
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 100 and len(data.y_test) == 20


@pytest.mark.parametrize(
    "arrays,message",
    [
        ({"x_train": np.zeros((10, 8, 8), np.float32), "y_train": np.zeros(10, int)}, "must be uint8"),
        ({"x_train": np.zeros((10, 8, 8), np.uint8)}, "has x_train but no y_train"),
        ({"images": np.zeros((10, 8, 8), np.uint8)}, "needs x_train and y_train"),
        ({"x_train": np.zeros((10, 8, 6), np.uint8), "y_train": np.zeros(10, int)}, "square"),
        ({"x_train": np.zeros((10, 8, 8), np.uint8), "y_train": np.zeros(9, int)}, "10 integer labels"),
        (
            {"x_train": np.zeros((10, 8, 8), np.uint8), "y_train": np.array([object()] * 10)},
            "not a readable .npz",
        ),
    ],
)
def test_bad_npz_files_say_what_is_wrong(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DatasetError, match=message):
        load_dataset("npz", data_dir=str(tmp_path / "bad.npz"))
