"""Fixtures of the cross-match tests: the fake Gaia/VizieR/MAST server."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def sky(httpserver):
    from tests.crossmatch.fakesky import FakeSky  # astropy: imported only when a test asks for the server

    fake = FakeSky()
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    fake.url = httpserver.url_for("/").rstrip("/")
    return fake
