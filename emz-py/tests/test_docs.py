"""The documented surface: every public member has a docstring and a real signature, so that
``help(emyzelium.Efunguz)`` and ``inspect.signature`` show what a user may call; and the
thread rule the docstrings state (asyncio on one thread is fine) holds."""

from __future__ import annotations

import asyncio
import inspect
import time

import emyzelium as emz
import pytest
from conftest import LONG

# The dunders of ours a user calls through syntax; the other dunders are Python's own.
OURS = {"__enter__", "__exit__", "__len__", "__contains__"}


def public_api() -> list[tuple[str, object]]:
    """(dotted name, object) of every public function, class and class member."""
    found: list[tuple[str, object]] = []
    for name in emz.__all__:
        obj = getattr(emz, name)
        if not (inspect.isclass(obj) or callable(obj)):
            continue
        found.append((name, obj))
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_") and attr not in OURS:
                    continue
                if isinstance(value, obj):  # an enum member
                    continue
                if attr == "kind" and issubclass(obj, BaseException):
                    continue  # a class attribute (a str), documented by the base class
                found.append((f"{name}.{attr}", value))
    return found


def test_the_walk_sees_the_api():
    names = {n for n, _ in public_api()}
    expected = {
        "Efunguz",
        "Efunguz.emit_etale",
        "Efunguz.wait",
        "Efunguz.__enter__",
        "Efunguz.port",
        "Ehypha.add_etale",
        "Etale.views",
        "Stats.received",
        "keypair",
        "EhyphaState",
        "WrongThreadError",
    }
    assert expected <= names, expected - names


@pytest.mark.parametrize("name,obj", public_api(), ids=lambda v: v if isinstance(v, str) else "")
def test_docstring(name, obj):
    doc = inspect.getdoc(obj) if not isinstance(obj, property) else obj.__doc__
    assert doc and doc.strip(), f"{name} has no docstring"
    # A docstring inherited from object/Exception says nothing about ours.
    assert doc not in (object.__doc__, Exception.__doc__), f"{name} only inherits a docstring"


def callables() -> list[tuple[str, object]]:
    out = []
    for name, obj in public_api():
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            continue  # exceptions take Exception's (*args): no signature to show
        if inspect.isdatadescriptor(obj) or isinstance(obj, property):
            continue  # attributes
        if callable(obj) or inspect.ismethoddescriptor(obj):
            out.append((name, obj))
    return out


@pytest.mark.parametrize("name,obj", callables(), ids=lambda v: v if isinstance(v, str) else "")
def test_signature(name, obj):
    sig = inspect.signature(obj)
    params = list(sig.parameters.values())
    # pyo3 falls back to (*args, **kwargs) when it knows nothing; that is no signature.
    kinds = {p.kind for p in params}
    vague = {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}
    if name != "Efunguz.__exit__":
        assert not (kinds & vague == vague), f"{name}{sig} is no real signature"
    for p in params:
        assert p.default is not Ellipsis, f"{name}{sig}: default of {p.name} not rendered"


def test_the_signatures_say_what_the_methods_take():
    ef_sig = inspect.signature(emz.Efunguz)
    assert list(ef_sig.parameters)[:4] == ["secret_key", "whitelist", "port", "tor_proxy"]
    # Spelled out in the text signature (pyo3 cannot render the constant): must match.
    assert ef_sig.parameters["port"].default == emz.DEFAULT_PORT
    assert inspect.signature(emz.Efunguz.add_ehypha).parameters["port"].default == emz.DEFAULT_PORT
    assert str(inspect.signature(emz.Efunguz.wait)) == "(self, /, timeout=None)"
    assert "title" in inspect.signature(emz.Ehypha.add_etale).parameters
    assert str(inspect.signature(emz.public_key)) == "(secret_key)"
    # The stubs agree with the runtime on every parameter name of Efunguz().
    assert "everyone" in ef_sig.parameters and "max_parts" in ef_sig.parameters
    assert set(ef_sig.parameters) - {"secret_key", "whitelist", "port", "tor_proxy", "bind_host", "everyone"} == set(
        emz._emyzelium._option_fields()
    )


def test_help_shows_signatures_and_the_thread_rule():
    text = pydoc_text(emz.Efunguz)
    assert "emit_etale(self, /, title, parts=None, t_out=None)" in text
    assert "WrongThreadError" in text and "asyncio" in text


def pydoc_text(obj) -> str:
    import pydoc

    return pydoc.render_doc(obj, renderer=pydoc.plaintext)


def test_asyncio_on_one_thread():
    """What the Efunguz docstring promises: update() from tasks of one event loop works."""

    async def main() -> bytes:
        pub_key, pub_secret = emz.keypair()
        _, sub_secret = emz.keypair()
        with (
            emz.Efunguz(pub_secret, port=0, bind_host="127.0.0.1", everyone=True) as pub,
            emz.Efunguz(sub_secret, port=0, bind_host="127.0.0.1") as sub,
        ):
            etale = sub.add_ehypha_direct(pub_key, "127.0.0.1", pub.port).add_etale("tick")

            async def publisher() -> None:
                while True:
                    pub.emit_etale("tick", [b"async"])
                    pub.update()
                    await asyncio.sleep(0.005)

            task = asyncio.create_task(publisher())
            end = time.monotonic() + LONG
            try:
                while etale.t_in < 0:
                    assert time.monotonic() < end, "nothing arrived"
                    sub.update()
                    await asyncio.sleep(0.005)
            finally:
                task.cancel()
            return etale.parts[0]

    assert asyncio.run(main()) == b"async"


def stub_docs() -> list[tuple[str, str | None, object]]:
    """(name, stub docstring, runtime object) of each public def and class of the stub."""
    import ast
    import pathlib

    import emyzelium._emyzelium as rt

    stub = pathlib.Path(rt.__file__).with_name("_emyzelium.pyi")
    out: list[tuple[str, str | None, object]] = []
    for node in ast.parse(stub.read_text()).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            out.append((node.name, ast.get_docstring(node), getattr(rt, node.name)))
        elif isinstance(node, ast.ClassDef):
            cls = getattr(rt, node.name)
            out.append((node.name, ast.get_docstring(node), cls))
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef) and (not sub.name.startswith("_") or sub.name in OURS):
                    out.append((f"{node.name}.{sub.name}", ast.get_docstring(sub), vars(cls)[sub.name]))
    return out


STUB_DOCS = stub_docs()


@pytest.mark.parametrize("name,stub_doc,obj", STUB_DOCS, ids=[name for name, _, _ in STUB_DOCS])
def test_stub_docstring_is_the_runtime_one(name, stub_doc, obj):
    """Editors read the stubs: they must say what help() says."""
    runtime = obj.__doc__ if inspect.isdatadescriptor(obj) else inspect.getdoc(obj)
    assert stub_doc == inspect.cleandoc(runtime or ""), f"{name}: the stub's docstring differs from the runtime's"
