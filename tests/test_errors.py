import subprocess
import sys

from medmonai.errors import ConfigError, DataError, find_user_error


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
        "import medmonai\nfrom medmonai.errors import ConfigError\n"
        "try:\n    raise ConfigError('latent_size must be a positive integer,\\n got 0')\n"
        "except ConfigError as e:\n    raise RuntimeError('wrapped') from e\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == "medmonai: error: latent_size must be a positive integer, got 0"


def test_other_errors_keep_their_traceback():
    result = subprocess.run(
        [sys.executable, "-c", "import medmonai\nraise KeyError('x')"], capture_output=True, text=True
    )
    assert result.returncode == 1 and "Traceback" in result.stderr and "KeyError" in result.stderr


def test_error_classes_are_value_errors():
    assert issubclass(DataError, ValueError) and issubclass(ConfigError, ValueError)


def test_reason_is_one_line():
    from medmonai.errors import reason

    assert reason(RuntimeError("\n  first line\nsecond")) == "first line"
    assert reason(KeyError()) == "KeyError"  # empty message: the type stands in
    assert (
        reason(RuntimeError("ITK error:\n  long\n  File could not be read"), last_chars=22) == "File could not be read"
    )
