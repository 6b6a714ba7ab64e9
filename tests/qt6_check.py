"""QGIS 4 (Qt6) readiness: import every Mapbridge module against PyQt6 and scan the code for Qt5-only API.

Run as a script in its own process (PyQt5 and PyQt6 cannot share one): `python -P tests/qt6_check.py PLUGINS_DIR`.
No Qt6 build of QGIS is installable here, so `qgis.PyQt.*` is a stand-in made of the real PyQt6 modules, shaped
as QGIS 4 ships them (QtWidgets also exports QAction, QActionGroup and QShortcut, which moved to QtGui in Qt6),
and `qgis.core` / `qgis.gui` / `qgis.utils` / `processing` are permissive stand-ins reporting QGIS 4.0.
QVariant's Type members are deliberately NOT patched back in: code that needs them is not Qt6-clean.

Two checks, printed as one finding per line (exit status 1 when there is any):
- import: every module's top-level code runs against PyQt6;
- scan: every attribute chain rooted at a name imported from `qgis.PyQt` (e.g. `Qt.AlignLeft`,
  `QMessageBox.Yes`, `QVariant.String`) must exist in PyQt6, and no `exec_` call may remain.
"""

from __future__ import annotations

import ast
import importlib
import sys
import traceback
import types
from pathlib import Path

QT_MODULES = ("QtCore", "QtGui", "QtWidgets", "QtNetwork", "QtSvg", "QtXml", "QtTest")
QGIS_MODULES = ("qgis.core", "qgis.gui", "qgis.utils", "qgis.analysis", "processing", "processing.core",
                "processing.core.Processing", "processing.gui", "processing.tools")
MOVED_TO_QTGUI = ("QAction", "QActionGroup", "QShortcut")


class _StandInType(type):
    """Class-level access on a stand-in QGIS class gives another stand-in (enums, static methods, nested classes)."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return stand_in(f"{cls.__name__}.{name}")

    def __or__(cls, other):
        return cls

    __ror__ = __and__ = __rand__ = __or__

    def __iter__(cls):
        return iter(())


class _StandIn(metaclass=_StandInType):
    """An instance of a stand-in QGIS class: accepts any call and any attribute."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return stand_in(name)()

    def __call__(self, *args, **kwargs):
        return self

    def __or__(self, other):
        return self

    __ror__ = __and__ = __rand__ = __or__

    def __bool__(self):
        return True

    def __iter__(self):
        return iter(())

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__


def stand_in(name):
    """A new stand-in class called `name`."""
    return _StandInType(name.rsplit(".", 1)[-1], (_StandIn,), {})


class _Qgis(_StandIn):
    """qgis.core.Qgis of a QGIS 4.0 build."""

    QGIS_VERSION = "4.0.0-Stand-in"
    QGIS_VERSION_INT = 40000

    @staticmethod
    def versionInt():  # noqa: N802 - QGIS API name
        return 40000


def _qgis_module(name):
    module = types.ModuleType(name)
    module.__path__ = []
    cache = {"Qgis": _Qgis}

    def __getattr__(attr):  # noqa: N807 - module-level __getattr__
        if attr.startswith("__"):
            raise AttributeError(attr)
        return cache.setdefault(attr, stand_in(attr))

    module.__getattr__ = __getattr__
    return module


def install_stand_ins():
    """qgis.PyQt.* made of PyQt6; qgis.core and friends as stand-ins."""
    qgis = types.ModuleType("qgis")
    qgis.__path__ = []
    pyqt = types.ModuleType("qgis.PyQt")
    pyqt.__path__ = []
    sys.modules.update({"qgis": qgis, "qgis.PyQt": pyqt})
    qgis.PyQt = pyqt
    for name in QT_MODULES:
        try:
            real = importlib.import_module(f"PyQt6.{name}")
        except ImportError:
            continue
        module = types.ModuleType(f"qgis.PyQt.{name}")
        module.__dict__.update({k: v for k, v in vars(real).items() if not k.startswith("__")})
        if name == "QtWidgets":
            gui = importlib.import_module("PyQt6.QtGui")
            module.__dict__.update({k: getattr(gui, k) for k in MOVED_TO_QTGUI})
        sys.modules[module.__name__] = module
        setattr(pyqt, name, module)
    from PyQt6 import sip

    sys.modules["qgis.PyQt.sip"] = sip
    pyqt.sip = sip
    for name in QGIS_MODULES:
        sys.modules[name] = _qgis_module(name)
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, sys.modules[name])


# Scanned but not imported: scripts that act when imported (desktop scenes, the demo) and the stdlib-only sandbox.
SCAN_ONLY = {"tools", "sandbox"}


def plugin_modules(root):
    """Every Python file of the checkout as (dotted name under mapbridge or None when scan-only, path)."""
    skip = {".venv", ".build", ".git", "dist", "__pycache__"}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if set(parts) & skip:
            continue
        dotted = ".".join(("mapbridge", *parts))[:-3].removesuffix(".__init__")
        yield (None if parts[0] in SCAN_ONLY else dotted), path


def qt_names(tree):
    """{local name: (Qt module, imported name)} of `from qgis.PyQt.X import Y [as Z]` statements."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qgis.PyQt."):
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name)
    return names


def attribute_chain(node):
    """(root name, [attr, …]) of `Root.a.b`, or None when the chain is not rooted at a plain name."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return node.id, attrs[::-1]
    return None


def scan(path, rel):
    """Findings of the static scan of one file."""
    findings = []
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    names = qt_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qgis.PyQt."):
            module = sys.modules.get(node.module)
            for alias in node.names:
                if module is None or not hasattr(module, alias.name):
                    findings.append(f"{rel}:{node.lineno}: {node.module}.{alias.name} does not exist in Qt6")
        if isinstance(node, ast.Attribute) and node.attr == "exec_":
            findings.append(f"{rel}:{node.lineno}: exec_() is gone in Qt6; use exec()")
        if isinstance(node, ast.Attribute) and not isinstance(parents.get(node), ast.Attribute):
            chain = attribute_chain(node)
            if chain is None or chain[0] not in names:
                continue
            module_name, imported = names[chain[0]]
            target = getattr(sys.modules.get(module_name), imported, None)
            if target is None:
                continue
            walked = imported
            for attr in chain[1]:
                if not hasattr(target, attr):
                    findings.append(f"{rel}:{node.lineno}: {walked}.{attr} does not exist in Qt6 "
                                    "(unscoped enum or Qt5-only API?)")
                    break
                target, walked = getattr(target, attr), f"{walked}.{attr}"
    return findings


def main(plugins_dir):
    install_stand_ins()
    root = (Path(plugins_dir) / "mapbridge").resolve()
    sys.path.insert(0, str(Path(plugins_dir).resolve()))
    sys.path.insert(0, str(root / "bench"))      # bench scripts import their helpers as bench/run.py runs them
    findings = []
    for dotted, path in plugin_modules(root):
        rel = path.relative_to(root)
        try:
            if dotted is not None:
                importlib.import_module(dotted)
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            last = traceback.extract_tb(exc.__traceback__)[-1]
            findings.append(f"{rel}: import fails against PyQt6: {type(exc).__name__}: {exc} "
                            f"({Path(last.filename).name}:{last.lineno})")
        findings.extend(scan(path, rel))
    for line in findings:
        sys.stdout.write(line + "\n")
    sys.stdout.write(f"qt6-check: {len(list(plugin_modules(root)))} modules, {len(findings)} findings\n")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
