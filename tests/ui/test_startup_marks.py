"""The two moments bench_console.py times a console's start by: written only when asked, once
each, window before list; and the benchmark's own start of a demo console gets both."""

from __future__ import annotations

from benchmarks.bench_console import cold_start

from app.ui import startup_marks


def test_no_mark_is_written_unless_the_environment_asks(qtbot, monkeypatch, capfd) -> None:
    monkeypatch.delenv(startup_marks.ENVIRONMENT, raising=False)
    monkeypatch.setattr(startup_marks, "_made", set())
    startup_marks.mark_when_shown(startup_marks.WINDOW)
    qtbot.wait(50)  # the mark would go out from the event loop's next turn
    assert "startup-mark" not in capfd.readouterr().err


def test_each_mark_is_written_once_when_asked(qtbot, monkeypatch, capfd) -> None:
    monkeypatch.setenv(startup_marks.ENVIRONMENT, "1")
    monkeypatch.setattr(startup_marks, "_made", set())
    written: list[str] = []

    def seen() -> bool:
        written.append(capfd.readouterr().err)
        return "startup-mark list" in "".join(written)

    for _ in range(3):
        startup_marks.mark_when_shown(startup_marks.FIRST_LIST)
    qtbot.waitUntil(seen, timeout=5000)
    startup_marks.mark_when_shown(startup_marks.FIRST_LIST)
    qtbot.wait(50)
    seen()
    assert "".join(written).count("startup-mark") == 1


def test_a_demo_console_started_as_a_trainer_starts_it_shows_its_window_then_its_list() -> None:
    to_window, to_list = cold_start()  # raises unless the process wrote both marks
    assert to_window > 0 and to_list >= 0
