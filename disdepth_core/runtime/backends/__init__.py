"""Inference backends, one module each, imported lazily by :mod:`disdepth_core.runtime.loader`."""
