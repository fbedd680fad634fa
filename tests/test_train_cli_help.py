"""`sketchpad train --help` describes every flag; the configuration flags' descriptions are
the fields' docstrings, so a new field without one fails here."""

from __future__ import annotations

import argparse
import dataclasses

from sketchpad.commands import train
from sketchpad.train.config import NESTED, TrainConfig, field_docs, field_help


def train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sketchpad")
    return train.register(parser.add_subparsers())


def test_every_flag_has_a_description():
    parser = train_parser()
    undescribed = [
        action.option_strings[0]
        for action in parser._actions
        if action.option_strings and action.dest != "help" and len(action.help or "") < 12
    ]
    assert undescribed == []
    helps = {a.option_strings[0]: a.help for a in parser._actions if a.option_strings}
    assert (
        helps["--ema"].startswith("EMA decay of the generator")
        and "default: 0.999" in helps["--ema"]
    )
    assert "one of vanilla, lsgan, hinge" in helps["--objective"] and "--fm-weight" in helps
    assert field_help(TrainConfig, "description").endswith('default: ""')
    assert parser.format_help()  # argparse can format every help text


def test_every_configuration_field_has_a_docstring():
    classes = [TrainConfig, *(cls for cls, _ in NESTED.values())]
    missing = [
        f"{cls.__name__}.{f.name}"
        for cls in classes
        for f in dataclasses.fields(cls)
        if f.name not in NESTED and not field_docs(cls).get(f.name)
    ]
    assert missing == []
