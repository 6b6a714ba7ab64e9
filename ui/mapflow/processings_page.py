"""The Processings sub-page: the project's processings, 30 a page, filtered and sorted by the service, with their
status in words and colours, and the buttons to manage them (processing_actions) and load their results."""

from __future__ import annotations

from qgis.core import QgsApplication
from qgis.gui import QgsFilterLineEdit
from qgis.PyQt.QtCore import QEvent, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.mapflow.listing import PAGE_SIZE, ListQuery
from ...core.mapflow.manage import in_review
from ...core.mapflow.processings import FAILED
from ...core.mapflow.tracked import auto_load_results, set_auto_load_results
from .layout import button_grid, fit_table_columns, wrap_layout, wrapped_label
from .processings_model import COLUMNS, ID_ROLE, STATUS_COLUMN, ProcessingsModel, StatusDelegate

# Columns shown as the list gets wider (Name always): status first, the model last.
COLUMN_PRIORITY = ("status", "created", "area", "cost", "model")
FILTER_DELAY_MS = 400


class ProcessingsPage(QWidget):
    """Filter, table, paging and actions; the owner (the tab) polls and acts."""

    query_changed = pyqtSignal(object)   # ListQuery

    def __init__(self, parent=None):
        super().__init__(parent)
        self.query = ListQuery()
        self.total = 0
        self._build()

    def _build(self):
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.filter_edit = QgsFilterLineEdit(self)
        self.filter_edit.setObjectName("mapflow_filter")
        self.filter_edit.setPlaceholderText("Filter by name, model, status…")
        self.filter_edit.setShowSearchIcon(True)
        self.refresh_button = QToolButton(self)
        self.refresh_button.setIcon(QgsApplication.getThemeIcon("/mActionRefresh.svg"))
        self.refresh_button.setToolTip("Read the list again")
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.refresh_button)
        layout.addWidget(wrap_layout(top, self))
        self.model = ProcessingsModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("mapflow_processings")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(STATUS_COLUMN, StatusDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(200)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(self._column("created"), Qt.SortOrder.DescendingOrder)
        self.table.viewport().installEventFilter(self)
        layout.addWidget(self.table, 1)
        paging = QHBoxLayout()
        self.previous_button = QToolButton(self)
        self.previous_button.setArrowType(Qt.ArrowType.LeftArrow)
        self.previous_button.setToolTip(f"The previous {PAGE_SIZE}")
        self.next_button = QToolButton(self)
        self.next_button.setArrowType(Qt.ArrowType.RightArrow)
        self.next_button.setToolTip(f"The next {PAGE_SIZE}")
        self.page_label = wrapped_label("", self, "mapflow_page")
        self.page_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        paging.addWidget(self.previous_button)
        paging.addWidget(self.page_label, 1)
        paging.addWidget(self.next_button)
        layout.addWidget(wrap_layout(paging, self))
        self.load_button = QPushButton("Load results", self)
        self.tiles_button = QPushButton("View as tiles", self)
        self.details_button = QPushButton("Details…", self)
        self.rename_button = QPushButton("Rename…", self)
        self.duplicate_button = QPushButton("Duplicate", self)
        self.restart_button = QPushButton("Restart", self)
        self.rate_button = QPushButton("Rate…", self)
        self.delete_button = QPushButton("Delete…", self)
        self.more_button = QToolButton(self)
        self.more_button.setText("More")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.more_button)
        self.copy_action = menu.addAction("Copy id")
        self.remove_action = menu.addAction("Remove from this list (stays on Mapflow)")
        self.more_button.setMenu(menu)
        self.load_button.setToolTip("Download the result into the results folder and add it (double-click a row)")
        self.tiles_button.setToolTip("Add the result's vector tiles and its imagery as layers, without downloading")
        self.duplicate_button.setToolTip("Fill the New processing page with this processing's choices and area")
        self.restart_button.setToolTip("Run a failed or cancelled processing again")
        self.delete_button.setToolTip("Delete the selected processings on Mapflow (asks first)")
        self.buttons = [self.load_button, self.tiles_button, self.details_button, self.rename_button,
                        self.duplicate_button, self.restart_button, self.rate_button, self.delete_button,
                        self.more_button]
        for button in self.buttons:
            button.setObjectName(f"mapflow_{button.text().split('…')[0].split()[0].lower()}")
        layout.addWidget(button_grid(self.buttons, self, columns=3))
        self.auto_load = QCheckBox("Load finished results", self)
        self.auto_load.setToolTip("Add the result of a processing to the project as soon as it has finished")
        self.auto_load.setObjectName("mapflow_auto_load")
        self.auto_load.setChecked(auto_load_results())
        layout.addWidget(self.auto_load)
        self.status_label = wrapped_label("", self, "mapflow_list_status")
        layout.addWidget(self.status_label)
        self.filter_timer = QTimer(self)
        self.filter_timer.setSingleShot(True)
        self.filter_timer.setInterval(FILTER_DELAY_MS)
        self.filter_timer.timeout.connect(self._filter_changed)
        self.filter_edit.textChanged.connect(lambda _text: self.filter_timer.start())
        self.refresh_button.clicked.connect(lambda: self.query_changed.emit(self.query))
        header.sortIndicatorChanged.connect(self._sort_changed)
        self.previous_button.clicked.connect(lambda: self._page(-1))
        self.next_button.clicked.connect(lambda: self._page(1))
        self.auto_load.toggled.connect(set_auto_load_results)
        self.table.selectionModel().selectionChanged.connect(lambda *args: self.update_buttons())
        self.update_buttons()
        self._show_paging()

    @staticmethod
    def _column(key):
        return next(i for i, (k, _) in enumerate(COLUMNS) if k == key)

    # -- query -------------------------------------------------------------------------------------
    def _filter_changed(self):
        self.query = ListQuery(0, self.filter_edit.text(), self.query.sort_by, self.query.descending)
        self.query_changed.emit(self.query)

    def _sort_changed(self, column, order):
        key = COLUMNS[column][0]
        self.query = ListQuery(0, self.query.terms, key, order == Qt.SortOrder.DescendingOrder)
        self.query_changed.emit(self.query)

    def _page(self, step):
        offset = max(0, self.query.offset + step * PAGE_SIZE)
        if step > 0 and offset >= self.total:
            return
        self.query = ListQuery(offset, self.query.terms, self.query.sort_by, self.query.descending)
        self.query_changed.emit(self.query)

    def _show_paging(self):
        first = self.query.offset + 1 if self.total else 0
        last = min(self.total, self.query.offset + PAGE_SIZE)
        self.page_label.setText(f"{first}–{last} of {self.total}" if self.total else "No processings")
        self.previous_button.setEnabled(self.query.offset > 0)
        self.next_button.setEnabled(self.query.offset + PAGE_SIZE < self.total)

    # -- rows --------------------------------------------------------------------------------------
    def show_rows(self, rows, total):
        """Show a polled page, keeping the selection."""
        selected = set(self.selected_ids())
        self.model.set_rows(rows)
        self.total = max(int(total or 0), len(rows))
        selection = self.table.selectionModel()
        for number, row in enumerate(self.model.rows):
            if row["id"] in selected:
                selection.select(self.model.index(number, 0),
                                 selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
        self._show_paging()
        self.fit_columns()
        self.update_buttons()

    def selected_ids(self):
        """Ids of the selected processings, in the table's order."""
        selection = self.table.selectionModel()
        rows = sorted(index.row() for index in selection.selectedRows()) if selection else []
        return [self.model.index(row, 0).data(ID_ROLE) for row in rows]

    def selected_rows(self):
        """The selected rows."""
        return [self.model.row_by_id(i) for i in self.selected_ids() if self.model.row_by_id(i) is not None]

    def select_id(self, processing_id):
        """Select one processing's row; True when it is on this page."""
        for number, row in enumerate(self.model.rows):
            if row["id"] == processing_id:
                self.table.selectRow(number)
                return True
        return False

    def update_buttons(self):
        """Enable what applies to the selection."""
        rows = self.selected_rows()
        one = rows[0] if len(rows) == 1 else None
        ok = one is not None and one["status"] == "OK"
        self.rate_button.setText("Review…" if ok and in_review(one.get("raw")) else "Rate…")
        self.load_button.setEnabled(ok)
        self.tiles_button.setEnabled(ok)
        self.rate_button.setEnabled(ok)
        for button in (self.details_button, self.rename_button, self.duplicate_button):
            button.setEnabled(one is not None and one["status"] != "NOT_FOUND")
        self.restart_button.setEnabled(one is not None and one["status"] in FAILED and one["status"] != "REFUNDED")
        self.delete_button.setEnabled(bool(rows))
        self.more_button.setEnabled(bool(rows))

    # -- fitting -----------------------------------------------------------------------------------
    def eventFilter(self, watched, event):  # noqa: N802 - Qt API name
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    def column_width(self, key):
        """The width a column needs for its title and this page's texts (the status capped, elided beyond)."""
        metrics = self.table.fontMetrics()
        title = COLUMNS[self._column(key)][1]
        samples = {"status": ["Running 100 %", "Finished"], "created": ["2025-12-31 23:59"],
                   "area": ["000.00"], "cost": ["00000"], "model": ["🏠 Buildings"]}[key]
        texts = [title] + samples + [self.model.text(row, key) for row in self.model.rows]
        width = max(metrics.horizontalAdvance(text) for text in texts) + 18
        if key == "status":
            width = min(width, max(metrics.horizontalAdvance("Running 100 %") + 18,
                                   int(self.table.viewport().width() * 0.4)))
        return width

    def fit_columns(self):
        """Show as many columns as fit the width, in order of use; the name takes what is left."""
        fit_table_columns(self.table, [key for key, _ in COLUMNS], COLUMN_PRIORITY, self.column_width, "name",
                          self.table.fontMetrics().horizontalAdvance("M" * 10))

    def visible_columns(self):
        """Keys of the shown columns."""
        return [key for number, (key, _) in enumerate(COLUMNS) if not self.table.isColumnHidden(number)]
