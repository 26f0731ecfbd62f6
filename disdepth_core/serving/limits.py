"""Input limits of a serving loop, in one light module (no heavy imports) so commands can show them."""

DEFAULT_MAX_INPUT_PIXELS = 3840 * 2160
"""Largest camera frame accepted by default (4K UHD); larger frames are refused before decoding."""
