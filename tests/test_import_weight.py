"""What a server process that only draws Explore's results imports: not scikit-learn or pandas.

Each is imported where it is used (GrabCut's colour models, hierarchical clustering, mean shift's
bandwidth; score tables), so a replica of a class moving sliders on Explore holds about 100 MB less.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY_LIBRARIES = ("sklearn", "pandas")

EXPLORE = """
import sys
import numpy as np
import seglib
from ui import prompt_canvas, run, views, weights, image_picker, layout, params, share
seglib.methods()  # the registry loads every method module
image = (np.random.default_rng(0).random((40, 40, 3)) * 255).astype(np.uint8)
for method in ("kmeans", "fuzzy-cmeans", "global-threshold", "region-growing", "canny"):
    seglib.segment(image, method)
print(",".join(name for name in {names} if name in sys.modules))
"""


def imported_by(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code.format(names=HEAVY_LIBRARIES)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return [name for name in done.stdout.rstrip("\n").split("\n")[-1].split(",") if name]


def test_explore_runs_without_scikit_learn_or_pandas():
    assert imported_by(EXPLORE) == []


def test_the_check_sees_a_library_that_is_imported():
    assert imported_by(EXPLORE.replace("import sys\n", "import sys\nimport pandas\n")) == ["pandas"]
