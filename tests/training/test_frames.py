"""The data in H2O: parsed like pandas reads it, split, read back as text."""

from __future__ import annotations

from pathlib import Path

import h2o
import palmerpenguins
import pytest

from training.config import Settings
from training.data import inspect_input
from training.frames import load_frames, read_holdout


@pytest.fixture(scope="module")
def penguins_csv() -> Path:
    return Path(palmerpenguins.__file__).parent / "data" / "penguins.csv"


def test_na_text_is_missing_not_a_category_level(
    h2o_cluster_url: str, penguins_csv: Path
) -> None:
    h2o.connect(url=h2o_cluster_url, verbose=False)
    spec = inspect_input(Settings(data=penguins_csv, target="species"))

    frames = load_frames(spec, holdout_fraction=0.2, seed=42)
    holdout = read_holdout(frames)

    assert frames.train["sex"].levels()[0] == ["female", "male"]
    missing = frames.train["sex"].isna().sum() + frames.holdout["sex"].isna().sum()
    assert missing == 11
    assert frames.train.nrows + frames.holdout.nrows == 344
    assert holdout.n_rows == frames.holdout.nrows
    assert "NA" not in holdout.columns["sex"]
    assert set(holdout.columns["species"]) <= {"Adelie", "Chinstrap", "Gentoo"}
