"""Where the real sample records are: ../shared/data/aicore_sample beside the repo.

``PINTEREST_SAMPLE_DIR`` overrides it. Tests that need it skip with a clear
message when it is absent (the records are never copied into the repo).
"""

import os
from pathlib import Path

import pytest

SAMPLE_DIR = Path(
    os.environ.get(
        "PINTEREST_SAMPLE_DIR",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "aicore_sample",
    )
)


def require_sample() -> Path:
    if not (SAMPLE_DIR / "pin.jsonl").is_file():
        pytest.skip(
            f"real sample records not found at {SAMPLE_DIR} (../shared/data/aicore_sample "
            "beside the repo, or set PINTEREST_SAMPLE_DIR)"
        )
    return SAMPLE_DIR
