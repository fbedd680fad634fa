"""Sketchpad: draw lines, watch a GAN paint them while you draw."""

__version__ = "0.1.0"
