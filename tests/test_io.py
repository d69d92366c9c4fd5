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
