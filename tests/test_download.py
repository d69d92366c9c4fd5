"""Official MNIST / CIFAR-10 files: download from a local HTTP server, checksums, parsing, the paper's split.

Tiny files in the real formats (gzip IDX; a tar.gz of CIFAR batch pickles) are
served from 127.0.0.1; the expected checksums are patched to theirs. No test
touches the real dataset hosts.
"""

import functools
import gzip
import http.server
import os
import pickle
import socket
import tarfile
import threading

import numpy as np
import pytest

from labelnoise import download
from official_formats import (
    add_member, cifar_binary_members, idx_bytes, patch_binary_checksums, spec_of, write_cifar_binary, write_cifar_tarball,
    write_mnist_files,
)
from labelnoise.data import DataError, load_prepared, load_source, prepare_dataset, save_prepared
from labelnoise.readers import CIFAR10_CLASS_NAMES, parse_cifar10_binary, parse_idx, read_cifar10, safe_unpickle

PER_CLASS = 2  # images per class in each tiny official part: both halves of the test set get every class


def tiny_digits(rng, shift):
    labels = np.repeat(np.arange(10), PER_CLASS)[rng.permutation(10 * PER_CLASS)].astype(np.uint8)
    images = rng.integers(0, 256, size=(len(labels), 28, 28), dtype=np.uint8)
    images[:, 0, 0] = shift  # tells train from test
    return images, labels


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """The four official MNIST files, tiny, in tmp_path/served; expected checksums patched to theirs."""
    rng = np.random.default_rng(0)
    served = tmp_path / "served"
    served.mkdir()
    parts = {"train": tiny_digits(rng, 1), "t10k": tiny_digits(rng, 2)}
    write_mnist_files(served, parts["train"], parts["t10k"])
    specs = tuple(spec_of(served / spec.name) for spec in download.MNIST_FILES)
    monkeypatch.setitem(download.OFFICIAL_FILES, "mnist", specs)
    return served, parts


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """A tiny cifar-10-python.tar.gz (5 train batches of 4, a test batch of 20); checksum patched."""
    rng = np.random.default_rng(1)
    served = tmp_path / "served"
    served.mkdir(exist_ok=True)
    train = rng.integers(0, 256, size=(20, 3, 32, 32), dtype=np.uint8), np.tile(np.arange(10), 2)
    test = rng.integers(0, 256, size=(20, 3, 32, 32), dtype=np.uint8), np.repeat(np.arange(10), 2)
    write_cifar_tarball(served / "cifar-10-python.tar.gz", train, test)
    monkeypatch.setitem(download.OFFICIAL_FILES, "cifar10", (spec_of(served / "cifar-10-python.tar.gz"),))
    return served, train, test


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve(directory) -> base URL of an HTTP server on 127.0.0.1 (stopped at the end)."""
    servers = []

    def start(directory):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_mnist_download_checks_and_parses(tiny_mnist, serve, tmp_path):
    served, parts = tiny_mnist
    data_dir = tmp_path / "data"
    images, labels, names = load_source("mnist", data_dir=data_dir, mirrors=[serve(served)])
    assert images.dtype == np.uint8 and images.shape == (40, 1, 28, 28) and names == [str(d) for d in range(10)]
    expected_images = np.concatenate([parts["train"][0], parts["t10k"][0]])[:, None]
    assert np.array_equal(images, expected_images)  # official training images first, then test
    assert np.array_equal(labels, np.concatenate([parts["train"][1], parts["t10k"][1]]))
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(p.name for p in served.iterdir())
    assert all((data_dir / p.name).read_bytes() == p.read_bytes() for p in served.iterdir())


def test_a_download_logs_its_progress(tiny_mnist, serve, tmp_path, monkeypatch, caplog):
    import logging

    from labelnoise import download

    served, _ = tiny_mnist
    monkeypatch.setattr(download, "PROGRESS_EVERY_S", 0)  # a line per chunk: the files here are tiny
    with caplog.at_level(logging.INFO, logger="labelnoise.download"):
        load_source("mnist", data_dir=tmp_path / "data", mirrors=[serve(served)])
    lines = [record.getMessage() for record in caplog.records if record.name == "labelnoise.download"]
    assert any(line.startswith("downloading train-images-idx3-ubyte.gz from http://127.0.0.1:") for line in lines)
    assert any(" MB at " in line and " s left" in line for line in lines), lines
    assert sum(" MB in " in line for line in lines) == 4  # one summary per file


def test_second_mirror_is_tried_when_the_first_is_down(tiny_mnist, serve, tmp_path, closed_port_url):
    served, _ = tiny_mnist
    images, _, _ = load_source("mnist", data_dir=tmp_path / "data", mirrors=[closed_port_url, serve(served)])
    assert len(images) == 40


def test_wrong_checksum_names_file_and_leaves_nothing(tiny_mnist, serve, tmp_path, monkeypatch):
    served, _ = tiny_mnist
    specs = list(download.OFFICIAL_FILES["mnist"])
    good = specs[0]
    specs[0] = download.OfficialFile(good.name, "0" * 32, good.size)
    monkeypatch.setitem(download.OFFICIAL_FILES, "mnist", tuple(specs))
    data_dir = tmp_path / "data"
    with pytest.raises(DataError) as caught:
        load_source("mnist", data_dir=data_dir, mirrors=[serve(served)])
    message = str(caught.value)
    assert good.name in message and "0" * 32 in message and good.md5 in message  # file, expected, actual
    assert not data_dir.exists() or list(data_dir.iterdir()) == []  # no file, no temporary file


def test_no_network_and_no_files_says_what_to_put_where(tiny_mnist, tmp_path, closed_port_url):
    data_dir = tmp_path / "data"
    with pytest.raises(DataError) as caught:
        load_source("mnist", data_dir=data_dir, mirrors=[closed_port_url], dataset="mnist_full")
    message = str(caught.value)
    assert message.count("\n") == 0 and "no network and no files" in message
    for spec in download.OFFICIAL_FILES["mnist"]:
        assert spec.name in message and spec.md5 in message
    assert str(data_dir.resolve()) in message and "datasets.mnist_full.data_dir" in message
    assert not data_dir.exists() or list(data_dir.iterdir()) == []


def test_download_off_lists_the_missing_files(tiny_mnist, tmp_path):
    with pytest.raises(DataError, match="download is false: put train-images-idx3-ubyte.gz"):
        load_source("mnist", data_dir=tmp_path / "data", download=False)


def test_files_in_data_dir_are_used_without_network(tiny_mnist, tmp_path, monkeypatch, closed_port_url):
    served, parts = tiny_mnist

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(download.urllib.request, "urlopen", no_network)
    images, labels, _ = load_source("mnist", data_dir=served, mirrors=[closed_port_url])
    assert np.array_equal(labels[:20], parts["train"][1]) and images.shape == (40, 1, 28, 28)


def test_a_users_file_with_a_wrong_checksum_is_refused_not_replaced(tiny_mnist, serve, tmp_path):
    served, _ = tiny_mnist
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    mine = data_dir / "t10k-labels-idx1-ubyte.gz"
    mine.write_bytes(b"my own file")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz has MD5 .*delete it to download it again"):
        load_source("mnist", data_dir=data_dir, mirrors=[serve(served)])
    assert mine.read_bytes() == b"my own file"


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"\x08\x03\x00\x00" + bytes(8), "bad magic number"),
        (idx_bytes(np.zeros((2, 3), np.uint8), type_code=0x0D), "type code 0x0d"),
        (bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big"), "truncated IDX header"),
        (idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-5], r"says \(2, 28, 28\)"),
        (idx_bytes(np.zeros((2, 3), np.uint8)) + b"extra", "file has"),
    ],
)
def test_malformed_idx_is_refused(raw, match):
    with pytest.raises(DataError, match=match):
        parse_idx(raw, "bad.idx")


def test_idx_round_trip():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx_bytes(array)), array)


def test_malformed_idx_file_in_data_dir_is_refused(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    rng = np.random.default_rng(2)
    for part in ("train", "t10k"):
        images, labels = tiny_digits(rng, 0)
        (data_dir / f"{part}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (data_dir / f"{part}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels[:-1])))  # one short
    specs = tuple(spec_of(data_dir / spec.name) for spec in download.MNIST_FILES)
    monkeypatch.setitem(download.OFFICIAL_FILES, "mnist", specs)
    with pytest.raises(DataError, match=r"labels must have shape \(20,\), one label per sample, got \(19,\); replace it with the official"):
        load_source("mnist", data_dir=data_dir, download=False)


def test_cifar10_download_and_parse(tiny_cifar, serve, tmp_path):
    served, train, test = tiny_cifar
    images, labels, names = load_source("cifar10", data_dir=tmp_path / "data", mirrors=[serve(served)])
    assert images.dtype == np.uint8 and images.shape == (40, 3, 32, 32)
    assert np.array_equal(images, np.concatenate([train[0], test[0]]))  # rows are R, G, B planes of 32 x 32
    assert np.array_equal(labels, np.concatenate([train[1], test[1]]))
    assert names == CIFAR10_CLASS_NAMES


@pytest.mark.parametrize("form", ["folder itself", "folder inside data_dir", "archive"])
def test_cifar10_binary_version_gives_the_python_versions_arrays(tiny_cifar, tmp_path, monkeypatch, form):
    """The same images written in both official formats read back as the same arrays, in the same order."""
    served, train, test = tiny_cifar
    python_version = load_source("cifar10", data_dir=served, download=False)
    members = cifar_binary_members(train, test)
    data_dir = tmp_path / "binary"
    if form == "archive":
        data_dir.mkdir()
        write_cifar_binary(data_dir, members, archive=True)
        patch_binary_checksums(monkeypatch, members, data_dir / "cifar-10-binary.tar.gz")
    else:
        write_cifar_binary(data_dir / "cifar-10-batches-bin", members, archive=False)
        patch_binary_checksums(monkeypatch, members)
        data_dir = data_dir / "cifar-10-batches-bin" if form == "folder itself" else data_dir
    binary_version = load_source("cifar10", data_dir=data_dir, download=False)
    for ours, theirs in zip(binary_version, python_version, strict=True):
        assert np.array_equal(ours, theirs)
    data = prepare_dataset("cifar10", 0.2, np.random.default_rng(0), data_dir=data_dir, download=False)
    expected = ["cifar-10-binary.tar.gz"] if form == "archive" else sorted(members)
    assert sorted(data.source_md5) == expected and np.array_equal(data.train_idx, np.arange(20))


def test_cifar10_binary_version_is_checked_member_by_member(tiny_cifar, tmp_path, monkeypatch):
    _, train, test = tiny_cifar
    members = cifar_binary_members(train, test)
    folder = tmp_path / "cifar-10-batches-bin"
    write_cifar_binary(folder, members, archive=False)
    patch_binary_checksums(monkeypatch, members)
    (folder / "data_batch_3.bin").write_bytes(b"\0" + members["data_batch_3.bin"][1:])  # one byte changed
    with pytest.raises(DataError, match=r"data_batch_3\.bin has MD5 .*expected"):
        load_source("cifar10", data_dir=folder, download=False)
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(DataError, match=r"holds 5 of the 6 files .*put data_batch_3\.bin"):
        load_source("cifar10", data_dir=tmp_path, download=False)
    # an archive whose member differs from the official member fails although the archive's own MD5 is the expected one
    damaged = dict(members, **{"test_batch.bin": members["test_batch.bin"][:-1] + b"\1"})
    (tmp_path / "archive").mkdir()
    write_cifar_binary(tmp_path / "archive", damaged, archive=True)
    monkeypatch.setattr(download, "CIFAR10_BINARY_ARCHIVE", spec_of(tmp_path / "archive" / "cifar-10-binary.tar.gz"))
    with pytest.raises(DataError, match=r"member test_batch\.bin fails its MD5"):
        load_source("cifar10", data_dir=tmp_path / "archive", download=False)


def test_cifar10_binary_records_are_checked():
    record = bytes([3]) + bytes(3072)
    images, labels = parse_cifar10_binary(record * 2, "x.bin")
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [3, 3]
    with pytest.raises(DataError, match="not a whole number of 3073-byte"):
        parse_cifar10_binary(record[:-1], "x.bin")
    with pytest.raises(DataError, match=r"labels must lie in 0\.\.9: 1 labels outside \(first: index 0, label 10\)"):
        parse_cifar10_binary(bytes([10]) + bytes(3072), "x.bin")


def test_missing_cifar10_names_every_official_form(tmp_path):
    with pytest.raises(DataError) as err:
        load_source("cifar10", data_dir=tmp_path, download=False)
    message = str(err.value)
    assert "cifar-10-python.tar.gz (MD5 c58f30108f718f92721af3b95e74349a)" in message
    assert "cifar-10-binary.tar.gz (MD5 c32a1d4ab5d03f1284b67883e8d87530)" in message
    assert "the 6 files of cifar-10-batches-bin/" in message and "\n" not in message


class Exploit:
    def __reduce__(self):
        return os.system, ("touch pwned",)


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hostile = pickle.dumps({b"data": Exploit(), b"labels": []}, protocol=2)
    with pytest.raises(DataError, match="refused global"):
        safe_unpickle(hostile, "data_batch_1")
    assert not (tmp_path / "pwned").exists()


def test_cifar_tarball_with_a_malicious_batch_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with tarfile.open(tmp_path / "evil.tar.gz", "w:gz") as archive:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
            add_member(archive, name, pickle.dumps(Exploit()))
    with pytest.raises(DataError, match="data_batch_1 is not a plain CIFAR pickle"):
        read_cifar10(tmp_path / "evil.tar.gz")
    assert not (tmp_path / "pwned").exists()


def test_prepared_mnist_follows_the_paper_split(tiny_mnist, serve, tmp_path):
    served, parts = tiny_mnist
    data = prepare_dataset("mnist", 0.2, np.random.default_rng(0), data_dir=tmp_path / "data", mirrors=[serve(served)])
    assert np.array_equal(data.train_idx, np.arange(20))  # all official training images
    held = np.concatenate([data.val_idx, data.test_idx])
    assert np.array_equal(np.sort(held), np.arange(20, 40))  # the official test set, halved
    for idx in (data.val_idx, data.test_idx):
        assert np.array_equal(np.bincount(data.labels[idx], minlength=10), np.ones(10))  # stratified
    save_prepared(tmp_path / "mnist.npz", data)
    back = load_prepared(tmp_path / "mnist.npz")
    assert back.source_md5 == {spec.name: spec.md5 for spec in download.OFFICIAL_FILES["mnist"]}
    assert np.array_equal(back.test_idx, data.test_idx) and back.image_shape == (1, 28, 28)


def test_config_accepts_official_sources_and_checks_mirrors():
    from labelnoise.config import ConfigError, dataset_settings, validate_config

    config = validate_config({"targets": ["full"], "datasets": {"full": {"source": "cifar10", "mirrors": ["http://127.0.0.1:1/"]}}})
    entry = config["datasets"]["full"]
    assert entry["data_dir"] == "data" and entry["download"] is True
    from labelnoise.data import source_options

    assert source_options(dataset_settings(config, "full"))["mirrors"] == ["http://127.0.0.1:1/"]
    with pytest.raises(ConfigError, match="datasets.full.mirrors"):
        validate_config({"targets": ["full"], "datasets": {"full": {"source": "mnist", "mirrors": ["ftp://x/"]}}})


@pytest.mark.parametrize("module", [b"numpy._core.multiarray", b"numpy.core.multiarray"])
def test_array_pickles_of_either_numpy_generation_load(module):
    # The official batches name numpy.core.multiarray._reconstruct (numpy 1); numpy 2 writes numpy._core.
    data = (np.arange(2 * 3072) % 251).astype(np.uint8).reshape(2, 3072)
    raw = pickle.dumps({b"data": data, b"labels": [3, 4]}, protocol=2).replace(b"numpy._core.multiarray", module)
    loaded = safe_unpickle(raw)
    assert np.array_equal(loaded[b"data"], data) and loaded[b"labels"] == [3, 4]


@pytest.fixture
def tiny_mnist_uncompressed(tiny_mnist, monkeypatch):
    """The tiny files gunzipped, as torchvision's MNIST/raw/ also holds them; specs know both forms."""
    served, parts = tiny_mnist
    raw_dir = served.parent / "raw"
    raw_dir.mkdir()
    specs = []
    for spec in download.OFFICIAL_FILES["mnist"]:
        plain = raw_dir / spec.name.removesuffix(".gz")
        plain.write_bytes(gzip.decompress((served / spec.name).read_bytes()))
        specs.append(download.OfficialFile(spec.name, spec.md5, spec.size, spec_of(plain)))
    monkeypatch.setitem(download.OFFICIAL_FILES, "mnist", tuple(specs))
    return raw_dir, parts


def test_uncompressed_official_files_are_read_and_recorded(tiny_mnist_uncompressed, tmp_path, monkeypatch):
    raw_dir, parts = tiny_mnist_uncompressed
    monkeypatch.setattr(download.urllib.request, "urlopen", lambda *a, **k: pytest.fail("the network was used"))
    data = prepare_dataset("mnist", 0.2, np.random.default_rng(0), data_dir=raw_dir)
    assert np.array_equal(data.images[:20, 0], parts["train"][0]) and np.array_equal(data.labels[20:], parts["t10k"][1])
    # the MD5s recorded are those of the files read, under their own names
    assert data.source_md5 == {spec.uncompressed.name: spec.uncompressed.md5 for spec in download.OFFICIAL_FILES["mnist"]}


def test_uncompressed_file_with_a_wrong_checksum_is_named(tiny_mnist_uncompressed):
    raw_dir, _ = tiny_mnist_uncompressed
    mine = raw_dir / "train-labels-idx1-ubyte"
    mine.write_bytes(mine.read_bytes()[:-1] + b"\x00")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte has MD5 .*expected"):
        load_source("mnist", data_dir=raw_dir, download=False)


def test_missing_files_name_both_accepted_forms(tmp_path):
    with pytest.raises(DataError) as caught:
        load_source("mnist", data_dir=tmp_path, download=False)
    for spec in download.MNIST_FILES:
        assert f"{spec.name} (MD5 {spec.md5}) or {spec.uncompressed.name} (MD5 {spec.uncompressed.md5})" in str(caught.value)


def test_data_dir_that_is_a_file_is_named(tmp_path):
    (tmp_path / "mnist").write_text("not a folder")
    with pytest.raises(DataError, match="data_dir .*mnist is a file, not a directory"):
        load_source("mnist", data_dir=tmp_path / "mnist", download=False)
