"""Write the example sketches shipped in assets/examples: OpenMoji line art from the test split
(never trained on), rendered at 512 px (finer than the model, as the canvas draws).

    python scripts/make_examples.py

OpenMoji (https://openmoji.org) is licensed CC BY-SA 4.0; so are these drawings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sketchpad.data.openmoji import line_art_svg, read_svg, render_svg  # noqa: E402
from sketchpad.data.splits import split_of  # noqa: E402

EXAMPLES = {
    "1F60B": "face-savoring-food",
    "1F621": "enraged-face",
    "1F634": "sleeping-face",
    "1F973": "partying-face",
    "1F408": "cat",
    "1F402": "ox",
    "1F40D": "snake",
    "1F439": "hamster",
    "1F33A": "hibiscus",
    "1F348": "melon",
    "1F954": "potato",
    "1F965": "coconut",
    "1F3B8": "guitar",
    "1F68B": "tram-car",
    "1F5FD": "statue-of-liberty",
    "2702": "scissors",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "assets" / "examples"))
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for stem, name in EXAMPLES.items():
        if split_of(stem) != "test":
            raise SystemExit(f"{stem} is not in the test split")
        lines = render_svg(line_art_svg(read_svg(stem)), args.size)
        Image.fromarray(lines).convert("L").save(out / f"{name}.png", optimize=True)
    print(f"wrote {len(EXAMPLES)} examples to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
