"""What is cut in a widget tree: used by the dock tests and the desktop screenshot scene."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QAbstractButton, QLabel, QScrollArea, QTableView, QTreeView


def clipped(root):
    """Everything visible under root that is cut: scroll content wider than its room, wrapped text cut at the bottom,
    labels and buttons whose text does not fit, table and tree columns out of view."""
    problems = []
    for area in root.findChildren(QScrollArea):
        if area.isVisible() and area.widget() is not None and \
                area.widget().minimumSizeHint().width() > area.viewport().width():
            problems.append(f"{area.objectName() or type(area).__name__}: content needs "
                            f"{area.widget().minimumSizeHint().width()} px, has {area.viewport().width()}")
    for label in root.findChildren(QLabel):
        if not label.isVisible() or not label.text() or label.width() <= 0:
            continue
        if label.wordWrap() and label.height() < label.heightForWidth(label.width()):
            problems.append(f"label '{label.text()[:40]}' cut at the bottom")
        elif not label.wordWrap() and label.sizeHint().width() > label.width() + 1:
            problems.append(f"label '{label.text()[:40]}' cut at the side")
    for button in root.findChildren(QAbstractButton):
        if button.isVisible() and button.text() and button.sizeHint().width() > button.width() + 1:
            problems.append(f"button '{button.text()}' needs {button.sizeHint().width()} px, has {button.width()}")
    for view in root.findChildren(QTableView) + root.findChildren(QTreeView):
        if not view.isVisible() or view.model() is None:
            continue
        for column in range(view.model().columnCount()):
            if not view.isColumnHidden(column) and \
                    view.columnViewportPosition(column) + view.columnWidth(column) > view.viewport().width() + 1:
                problems.append(f"{view.objectName() or type(view).__name__}: column {column} out of view")
    return problems
