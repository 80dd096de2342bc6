"""The tables the Python face shares with the core: each is declared once in Rust and the
Python classes, enum members and keyword arguments must match it exactly."""

from __future__ import annotations

import inspect

import emyzelium as emz
import pytest
from emyzelium import _emyzelium, _errors

# Errors of the Python face alone (no core kind behind them).
PYTHON_ONLY_ERRORS = {"EmyzeliumError", "ClosedError", "WrongThreadError"}
# Keyword arguments of Efunguz() that are not fields of the core's Options.
NOT_OPTIONS = {"bind_host", "everyone"}


def test_every_error_kind_has_its_class():
    kinds = _emyzelium._error_kinds()
    assert kinds, "the core lists no error kind"
    assert [code for _, code in kinds] == sorted({code for _, code in kinds})
    for name, _code in kinds:
        cls = getattr(emz, f"{name}Error", None)
        assert isinstance(cls, type) and issubclass(cls, emz.EmyzeliumError), name
        assert cls.kind == name and f"{name}Error" in emz.__all__ and f"{name}Error" in _errors.__all__


def test_every_error_class_has_its_kind():
    kinds = {name for name, _ in _emyzelium._error_kinds()}
    classes = {n for n in _errors.__all__ if issubclass(getattr(_errors, n), emz.EmyzeliumError)}
    assert classes - PYTHON_ONLY_ERRORS == {f"{k}Error" for k in kinds}
    assert set(_errors.__all__) <= set(emz.__all__)


def test_a_core_error_raises_the_class_of_its_kind():
    with pytest.raises(emz.InvalidKeyError) as ei:
        emz.public_key("not a key")
    assert type(ei.value) is emz.InvalidKeyError


def test_ehypha_states_match_the_core():
    states = _emyzelium._ehypha_states()
    assert states, "the core lists no ehypha state"
    assert [(m.name.lower(), m.value) for m in emz.EhyphaState] == list(states)
    for name, code in states:
        member = emz.EhyphaState[name.upper()]
        assert member == code and str(member) == name and emz.EhyphaState(code) is member


def test_efunguz_keywords_are_the_core_options():
    fields = _emyzelium._option_fields()
    assert "io_threads" in fields and "ehypha_monitor" in fields, fields
    params = inspect.signature(emz.Efunguz).parameters
    keywords = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keywords - NOT_OPTIONS == set(fields)
    # Every keyword is accepted at runtime too (the signature above is PyO3's).
    sk = emz.keypair()[1]
    defaults = {n: p.default for n, p in params.items() if n in fields}
    with emz.Efunguz(sk, port=0, bind_host="127.0.0.1", **defaults) as ef:
        ef.update()
