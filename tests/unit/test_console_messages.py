"""What the commands print: the command that resumes an interrupted search, and describe's
estimate of a network too big to build."""

from __future__ import annotations


def test_an_interrupted_search_names_the_command_that_resumes_it_as_it_was_started():
    from nas_service.core.errors import SearchInterrupted

    stopped = SearchInterrupted("search interrupted (SIGTERM).", "transfer-to", ("--resume", "--name", "a b"))
    assert str(stopped) == (
        "search interrupted (SIGTERM). Resume with: stagewise-nas transfer-to --resume --name 'a b'"
    )
    assert stopped.text("python -m nas_service") == (
        "search interrupted (SIGTERM). Resume with: python -m nas_service transfer-to --resume --name 'a b'"
    )
    assert SearchInterrupted("stopped.", "run", ("--resume",)).text("python -m nas_service") == (
        "stopped. Resume with: python -m nas_service.run --resume"
    )  # the job entrypoint
    assert SearchInterrupted("comparison interrupted.").text("stagewise-nas") == ("comparison interrupted.")


def test_describe_estimates_a_huge_network_without_building_it(capsys):
    import json

    from nas_service.cli.main import main
    from trainables.metrics.costs import estimated_size
    from trainables.spec import ArchSpec

    assert main(["describe", "--depths", "100000-1-1"]) == 0
    out, err = capsys.readouterr()
    described = json.loads(out)
    assert described["estimated"] is True and described["depth"] == 200006
    size = estimated_size(ArchSpec(depths=(100000, 1, 1)))
    assert (described["macs"], described["params"]) == (int(size["macs"]), int(size["params"]))
    assert "100002 modules take minutes to build; MACs and params estimated" in err
    assert main(["describe", "--depths", "3-3-3", "--image-size", "4"]) == 2
    assert "--image-size 4: 3 stages need images of at least 8x8" in capsys.readouterr().err
