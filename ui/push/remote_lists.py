"""Fill an editable combo box from the account (Mapsemble maps, Mapalyze forms) in the background."""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt, QTimer

from ...api.errors import ConfigurationError, MapbridgeError
from ...core import credentials
from ...core.log import log_exception
from ...core.service_factory import client_for
from ..background import BackgroundRunner


def _label(item, id_key="id"):
    """(label, id) of a map or form dict."""
    item_id = str(item.get(id_key) or "")
    name = item.get("name") or item.get("title") or ""
    count = item.get("featureCount")
    label = f"{name} ({item_id})" if name else item_id
    if isinstance(count, int) and not isinstance(count, bool):
        label += f" · {count:,} feature{'s' if count != 1 else ''}"
    return label, item_id


class RemoteList:
    """Loads (label, id) pairs of one service with `fetch(client)` and puts them in a combo box."""

    def __init__(self, service, combo, fetch, status_label=None, remembered=""):
        self.service = service
        self.combo = combo
        self.fetch = fetch
        self.status_label = status_label
        self.remembered = remembered
        self.runner = BackgroundRunner()
        self.run = None
        self.loaded = False
        self.items = {}         # id -> the map's or form's dict, as listed
        # After the combo has put the entry's text in its line edit (which leaves the cursor at the end).
        combo.currentIndexChanged.connect(lambda *args: QTimer.singleShot(0, self._show_start))

    def load(self, quiet=False):
        """Start loading (main thread: the client reads settings and the auth DB here).

        quiet: only when the token needs no master-password prompt (showing the tab is not asking for it)."""
        if self.run is not None:
            return
        if quiet and not credentials.token_without_prompt(self.service):
            self._status("↻ lists yours (the token is read once you ask)")
            return
        try:
            client = client_for(self.service, timeout=(5.0, 20.0))
            client.config.require_token()
        except ConfigurationError as exc:
            self._status(exc.user_message())        # not an error worth a log line: the user has not set it up
            return
        except MapbridgeError as exc:
            self._status(log_exception(exc))
            return
        self._status("Loading…")
        self.run = self.runner.job(f"Mapbridge: list {self.service} items", lambda feedback: self.fetch(client),
                                   self._loaded, client=client, hidden=True)

    def _loaded(self, outcome):
        self.run = None
        if not outcome.ok:
            self._status(outcome.message)
            return
        result = outcome.results
        current = self.current_id() or self.remembered
        self.combo.clear()
        self.items = {}
        for item in result or []:
            if isinstance(item, dict) and item.get("id") is not None:
                label, item_id = _label(item)
                self.items[item_id] = item
                self.combo.addItem(label, item_id)
                self.combo.setItemData(self.combo.count() - 1, label, Qt.ItemDataRole.ToolTipRole)
        self.loaded = True
        self.select(current)
        count = self.combo.count()
        self._status(f"{count:,} found" if count else "none found; type an id")

    def select(self, item_id):
        """Show an id: its entry when listed, else the id typed in."""
        if not item_id:
            return
        index = self.combo.findData(item_id)
        if index >= 0:
            self.combo.setCurrentIndex(index)
        else:
            self.combo.setEditText(item_id)
        QTimer.singleShot(0, self._show_start)

    def _show_start(self, *args):
        """A long entry in a narrow dock shows its start (the name), not its end."""
        try:
            edit = self.combo.lineEdit()
        except RuntimeError:
            return      # the combo is gone (the dock closed)
        if edit is not None:
            edit.setCursorPosition(0)
            self.combo.setToolTip(self.combo.currentText())

    def current_id(self):
        """The chosen id: the listed entry's id, or the text typed in."""
        text = self.combo.currentText().strip()
        index = self.combo.currentIndex()
        if index >= 0 and self.combo.itemText(index) == text:
            return self.combo.itemData(index) or text
        return text

    def cancel(self):
        """Stop a running load and ignore its answer."""
        self.runner.shutdown()
        self.run = None

    def _status(self, text):
        if self.status_label is not None:
            self.status_label.setText(text)
