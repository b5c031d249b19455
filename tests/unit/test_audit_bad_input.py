"""``stagewise-nas audit``'s bad input is refused in one line before Ray."""

import pytest

from nas_service.cli.main import main


@pytest.mark.parametrize(
    "flags,fragment",
    [
        (["--seeds", "1"], "--seeds 1: must be at least 2"),
        (["--criteria", "plsvip,plsvip"], "--criteria 'plsvip,plsvip': must be distinct"),
        (["--criteria", "vip"], "--criteria 'vip': must be one of"),
        (["--score-at", "0,1"], "--score-at '0,1': must be distinct fractions"),
        (["--interval-level", "95"], "--interval-level 95.0: must be between 0 and 1"),
        (["--iterations", "3"], "unrecognized arguments: --iterations"),
        (["--m0", "0"], "--m0 0: must be at least 1"),
    ],
)
def test_audit_bad_input_is_one_line_before_ray(tmp_path, monkeypatch, capsys, flags, fragment):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(["audit", *flags])
    except SystemExit as exit:  # argparse's own refusals
        status = exit.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "mlflow.db").exists()
