"""Shows the crash test's summary line (how many writes were checked) at
the end of the run, also without -s."""

_lines = []


def pytest_runtest_logreport(report):
    for name, value in report.user_properties:
        if name == "crash_summary" and value not in _lines:
            _lines.append(value)


def pytest_terminal_summary(terminalreporter):
    for line in _lines:
        terminalreporter.write_line(line)
