"""The rules a value obeys wherever it is given (``nas_service.value_rules``)."""

import codecs
import re

import pytest

from nas_service.core.errors import ConfigError
from nas_service.value_rules import check_path, parse_counts, parse_seeds, read_utf8


def test_a_settings_file_with_a_utf8_byte_order_mark_reads_as_its_text(tmp_path):
    path = tmp_path / "search.yaml"
    path.write_bytes(codecs.BOM_UTF8 + "name: café\n".encode())
    assert read_utf8("--config", str(path)) == "name: café\n"


@pytest.mark.parametrize("encoding,named", [("utf-32", "UTF-32"), ("utf-16-be", None)])
def test_other_encodings_are_named_not_guessed(tmp_path, encoding, named):
    path = tmp_path / "search.yaml"
    data = "m0: 2\n".encode(encoding)
    path.write_bytes(data if named else codecs.BOM_UTF16_BE + data)
    with pytest.raises(ConfigError, match=f"the file is {named or 'UTF-16'} text; save it as UTF-8"):
        read_utf8("--config", str(path))


def test_seeds_are_checked_one_by_one_and_once_each():
    assert parse_seeds("--seeds", " 0, 4294967295") == [0, 4294967295]
    for text, problem in [
        ("1,-1", "must be integers from 0"),
        ("2**3", "must be integers"),
        ("4294967296", "must be between 0 and 2**32 - 1"),
        ("5,5", "5 is given twice"),
        ("", "must be integers"),
    ]:
        with pytest.raises(ConfigError, match=f"--seeds {re.escape(repr(text))}.*{re.escape(problem)}"):
            parse_seeds("--seeds", text)


def test_counts_take_ascii_digits_only():
    assert parse_counts("--references", "7, 9") == [7, 9]
    for text in ["7,\u00b2", "7,\u0669", "0,1", "7,07", "7,x"]:
        with pytest.raises(ConfigError, match="--references"):
            parse_counts("--references", text)


def test_path_components_up_to_the_name_limit_pass():
    check_path("--data-dir", "/data/" + "é" * 127)  # 254 bytes in UTF-8
    with pytest.raises(ConfigError, match="a path component of 256 bytes"):
        check_path("--data-dir", "/data/" + "é" * 128)
