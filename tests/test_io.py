"""Atomic outputs: a failed write leaves nothing a rerun would take as complete."""

import numpy as np
import pandas as pd
import pytest

from labelnoise.io import atomic_path, load_npz, save_csv, save_npz


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a table")
            raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []


def test_existing_result_survives_a_failed_rewrite(tmp_path):
    target = tmp_path / "out.npz"
    save_npz(target, x=np.arange(3))
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"garbage")
            raise RuntimeError
    assert np.array_equal(load_npz(target)["x"], np.arange(3))


def test_csv_round_trip(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    save_csv(tmp_path / "sub" / "t.csv", frame)
    assert pd.read_csv(tmp_path / "sub" / "t.csv").equals(frame)


def test_results_are_readable_by_others(tmp_path):
    save_csv(tmp_path / "t.csv", pd.DataFrame({"a": [1]}))
    assert (tmp_path / "t.csv").stat().st_mode & 0o044 == 0o044


def test_damaged_result_files_are_named_in_one_line(tmp_path):
    import torch

    from labelnoise.checkpoint import load_checkpoint
    from labelnoise.io import ResultFileError, load_npz

    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ResultFileError, match=r"empty.npz cannot be read .*--force .*empty.npz"):
        load_npz(tmp_path / "empty.npz")
    (tmp_path / "model.pt").write_text("not a checkpoint")
    with pytest.raises(ResultFileError, match=r"model.pt is not a checkpoint of this workflow") as caught:
        load_checkpoint(tmp_path / "model.pt")
    assert "weights_only" not in str(caught.value)  # never torch's unsafe advice
    torch.save({"model_kwargs": {"arch": "paper_cnn"}, "state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ResultFileError, match="other.pt is not a checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_measured_tables_are_rounded_and_computed_ones_kept_exact(tmp_path):
    frame = pd.DataFrame({"test_acc": [0.5760000000000001], "realised_gamma": [0.18044515103338632], "wall_s": [2.84125],
                          "row": [1 / 3]})
    save_csv(tmp_path / "measured.csv", frame)
    assert (tmp_path / "measured.csv").read_text().splitlines()[1] == "0.576,0.180445,2.8,0.333333"
    save_csv(tmp_path / "exact.csv", frame, exact=True)
    assert pd.read_csv(tmp_path / "exact.csv").equals(frame)  # e.g. a confusion matrix stays row-stochastic
