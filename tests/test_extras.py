"""mtom._extras: a missing optional dependency names the extra to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mtom._extras import missing_extra_message, require_extra


def test_present_modules_pass() -> None:
    require_extra("mtom", "core", ["json", "lxml"])


def test_missing_module_raises_import_error_with_pip_command() -> None:
    with pytest.raises(ImportError) as info:
        require_extra("zeep_mtom", "zeep", ["json", "no_such_module_soap_mtom"])
    assert info.value.name == "no_such_module_soap_mtom"
    assert str(info.value) == missing_extra_message("zeep_mtom", "zeep",
                                                    ["no_such_module_soap_mtom"])
    assert 'pip install "soap-mtom[zeep]"' in str(info.value)


@pytest.mark.parametrize("blocked", ["zeep", "httpx", "packaging"])
def test_zeep_mtom_without_its_extra(blocked: str) -> None:
    code = f"import sys; sys.modules[{blocked!r}] = None\nimport zeep_mtom"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode != 0
    assert f"missing: {blocked}" in proc.stderr
    assert 'pip install "soap-mtom[zeep]"' in proc.stderr
