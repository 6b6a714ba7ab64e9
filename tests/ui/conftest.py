"""Fixtures of the dock and Layers panel tests: question boxes answered by clicking their buttons, a real Layers
panel, the whole plugin loaded against the sandbox."""

from __future__ import annotations

import pytest
from qgis.core import QgsLayerTreeModel, QgsProject
from qgis.gui import QgsLayerTreeView
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QMessageBox, QPushButton

from mapbridge.ui.notify import QUESTION_NAME


class Answerer:
    """Clicks one answer of each question box the dock opens; keeps what each box said."""

    def __init__(self):
        self.answers = []        # keys still to give, in order
        self.asked = []          # (text, informative text, [answer keys]) of every box seen
        self.unexpected = []     # texts of boxes nobody had an answer for (closed with Esc)
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._look)
        self.timer.start()

    def will(self, *keys):
        """Answer the next questions with these keys (e.g. "sync", "cancel")."""
        self.answers.extend(keys)

    def _look(self):
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or box.objectName() != QUESTION_NAME or not box.isVisible():
            return
        keys = [b.objectName()[len("answer_"):] for b in box.findChildren(QPushButton)
                if b.objectName().startswith("answer_")]
        self.asked.append((box.text(), box.informativeText(), keys))
        if not self.answers:
            self.unexpected.append(box.text())
            box.reject()
            return
        key = self.answers.pop(0)
        box.findChild(QPushButton, f"answer_{key}").click()

    def stop(self):
        self.timer.stop()


@pytest.fixture
def answer():
    """answer.will("push") before the click that asks; answer.asked holds what the boxes said."""
    answerer = Answerer()
    yield answerer
    answerer.stop()
    assert answerer.unexpected == [], "questions nobody expected"
    assert answerer.answers == [], f"questions expected but never asked: {answerer.answers}"


@pytest.fixture
def layers_panel(qgis_iface, monkeypatch, qgis_new_project):
    """A real Layers panel (pytest-qgis's iface has none)."""
    view = QgsLayerTreeView()
    view.setModel(QgsLayerTreeModel(QgsProject.instance().layerTreeRoot()))
    monkeypatch.setattr(qgis_iface, "layerTreeView", lambda: view)
    yield view
    view.deleteLater()


@pytest.fixture
def loaded(layers_panel, sandbox_env, plugin, mapbridge_processing):
    """The plugin loaded with a Layers panel, every service pointed at the sandbox."""
    return plugin
