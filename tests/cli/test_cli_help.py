"""``pgcluster --help`` and each command's: plain text that fits an 80-column terminal."""

from __future__ import annotations

import pytest

from pgcluster.cli import _SUBCOMMANDS, main


@pytest.mark.parametrize("command", ["", *_SUBCOMMANDS])
def test_help_reads_as_plain_text(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps to it
    with pytest.raises(SystemExit) as info:
        main([*filter(None, [command]), "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "usage: pgcluster" in text
    # The descriptions come from docstrings, whose ``code`` spans mean nothing here.
    assert "`" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
