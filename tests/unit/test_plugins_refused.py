"""A bad plug-in (a data set, module type or criterion given by import path) is named before Ray."""

from __future__ import annotations

import pytest

from nas_service import ConfigError, SearchConfig, resolve


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            {"module": "user_plugins:load_bars"},
            "--module 'user_plugins:load_bars': is a function, not a trainables.module_types.ModuleType",
        ),
        ({"module": "no_such_package:THING"}, "--module 'no_such_package:THING': cannot be imported"),
        ({"dataset": "user_plugins:PLAIN"}, "--dataset 'user_plugins:PLAIN': is not a function"),
        ({"dataset": "no_such_package:load"}, "--dataset 'no_such_package:load': cannot be imported"),
        ({"module": "cell9"}, "--module 'cell9': must be one of basic, bottleneck, nasnet or an import path"),
    ],
)
def test_a_bad_plug_in_is_named_before_ray(settings, message):
    with pytest.raises(ConfigError) as raised:
        resolve(SearchConfig(**settings))
    assert str(raised.value).startswith(message)
