"""Datasets, augmentation and procedural synthetic scenes.

A sample is a dict: ``image`` (uint8 H x W x 3 RGB), ``depth`` (float32 H x W metres, 0/NaN invalid;
absent for unlabeled data), ``K`` (float32 3 x 3). Submodules are imported explicitly (this package
imports nothing eagerly, so the renderer stays usable without torch).
"""
