"""`sketchpad inspect MODEL`: parameter counts, discriminator branches, attention placement."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "inspect",
        help="describe a model file",
        description="Describe a model file: networks, parameter counts, each "
        "discriminator branch's output size and receptive field.",
    )
    p.add_argument("model", help="a .safetensors model file")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from sketchpad.inspect_model import describe_model, format_description

    info = describe_model(args.model)
    print(json.dumps(info, indent=2, ensure_ascii=False) if args.json else format_description(info))
    return 0
