"""The package's surface: the native stubs match the extension, and every
public name has a docstring. No VM."""

import ast
import inspect
import os

import boxlite
from boxlite import boxlite as native


def test_stubs_match_the_extension():
    path = os.path.join(os.path.dirname(boxlite.__file__), "boxlite.pyi")
    tree = ast.parse(open(path).read())
    stubbed = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            stubbed[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} - {"__init__"}
        elif isinstance(node, ast.FunctionDef):
            stubbed[node.name] = None
    public = {n for n in dir(native) if not n.startswith("_")}
    assert set(stubbed) == public
    for cls, methods in stubbed.items():
        if methods is None:
            continue
        have = {n for n in dir(getattr(native, cls)) if not n.startswith("_")}
        assert methods == have, cls


def test_every_public_name_has_a_docstring():
    missing = []
    for name in boxlite.__all__:
        obj = getattr(boxlite, name)
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj) and obj.__module__.startswith("boxlite"):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
                    continue
                if not inspect.getdoc(member):
                    missing.append(f"{name}.{attr}")
    assert not missing, missing
