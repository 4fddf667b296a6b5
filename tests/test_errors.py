import subprocess
import sys

import pytest

from medmonai.errors import ConfigError, DataError, find_user_error
from tests.bundles.helpers import run_cli


def test_find_user_error_walks_the_chain():
    try:
        try:
            raise DataError("/data/x.npz: missing keys")
        except DataError as e:
            raise RuntimeError("Failed to instantiate component") from e
    except RuntimeError as wrapped:
        assert str(find_user_error(wrapped)) == "/data/x.npz: missing keys"
    assert find_user_error(RuntimeError("other")) is None


def test_uncaught_user_error_is_one_line_and_exits_non_zero():
    code = (
        "from medmonai.errors import ConfigError, install_excepthook\ninstall_excepthook()\n"
        "try:\n    raise ConfigError('latent_size must be a positive integer,\\n got 0')\n"
        "except ConfigError as e:\n    raise RuntimeError('wrapped') from e\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == "medmonai: error: latent_size must be a positive integer, got 0"


def test_other_errors_keep_their_traceback():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from medmonai.errors import install_excepthook\ninstall_excepthook()\nraise KeyError('x')",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" in result.stderr and "KeyError" in result.stderr


def test_importing_medmonai_leaves_the_excepthook_alone():
    # a notebook importing the library (and the modules a bundle config imports) keeps its own error display
    code = (
        "import sys\nimport medmonai, medmonai.bundle, medmonai.engines, medmonai.handlers, medmonai.errors\n"
        "from medmonai.bundle import check_command_line\n"
        "check_command_line(['python', 'run'])\n"  # a bundle run from Python, not the command line
        "print(sys.excepthook is sys.__excepthook__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize("checks_command_line", [True, False])
def test_a_bundle_run_reports_input_errors_in_one_line_once_it_checks_its_command_line(tmp_path, checks_command_line):
    # the hook comes from check_command_line, not from importing medmonai, and outlives it: an error the run
    # itself raises is one line too
    initialize = "['$medmonai.bundle.check_command_line()']" if checks_command_line else "[]"
    config = tmp_path / "bad.yaml"
    config.write_text(
        "imports: ['$import medmonai', '$import medmonai.bundle']\n"
        f"initialize: {initialize}\n"
        "run: [\"$medmonai.bundle.check_overrides({'epochs': 1}, {'epoch': 2}, 'bad.yaml')\"]\n"
    )
    result = run_cli(str(config), cwd=tmp_path, bundle=None)
    message = "medmonai: error: --epoch: no such setting in bad.yaml; did you mean --epochs?"
    assert result.returncode == 1
    if checks_command_line:
        assert result.stderr.strip().splitlines()[-1] == message
        assert "Traceback" not in result.stderr
    else:
        assert "Traceback" in result.stderr and message not in result.stderr


def test_error_classes_are_value_errors():
    assert issubclass(DataError, ValueError) and issubclass(ConfigError, ValueError)


def test_reason_is_one_line():
    from medmonai.errors import reason

    assert reason(RuntimeError("\n  first line\nsecond")) == "first line"
    assert reason(KeyError()) == "KeyError"  # empty message: the type stands in
    assert (
        reason(RuntimeError("ITK error:\n  long\n  File could not be read"), last_chars=22) == "File could not be read"
    )
