"""pyproject.toml turns warnings raised by our own modules into errors; this keeps that true."""

from __future__ import annotations

import warnings

import pytest


def test_a_warning_from_our_code_fails_the_test():
    with pytest.raises(DeprecationWarning):
        warnings.warn("our own code warned", DeprecationWarning, stacklevel=1)
