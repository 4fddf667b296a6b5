import pytest

from medmonai.errors import ConfigError
from medmonai.utils import as_flag


def test_flags_from_the_command_line():
    assert as_flag("false") is False and as_flag("True") is True and as_flag(0) is False and as_flag(True) is True
    with pytest.raises(ConfigError, match="brain_extraction must be true or false, got 'maybe'"):
        as_flag("maybe", "brain_extraction")
