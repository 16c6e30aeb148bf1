"""The package root re-exports the public API lazily (PEP 562)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import did_agents


@pytest.mark.parametrize("name", did_agents.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(did_agents, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        did_agents.no_such_thing


def test_importing_a_submodule_does_not_load_json_ld() -> None:
    code = "import did_agents.errors, sys; print('pyld' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
