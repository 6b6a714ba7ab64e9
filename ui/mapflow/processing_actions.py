"""What the Processings page's buttons do: load, tiles, details, rename, duplicate, restart, rate or review, delete
(several, asked first), copy the id, remove from the list. Service calls run in the background."""

from __future__ import annotations

from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.PyQt.QtWidgets import QApplication

from ...api.errors import MapbridgeError
from ...core.mapflow import manage
from ...core.mapflow.details import detail_rows
from ...core.mapflow.tracked import TrackedProcessings
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from ..notify import show_error, show_message, show_success
from .dialogs import DetailsDialog


class ProcessingActions(QObject):
    """Acts on the page's selected processings."""

    changed = pyqtSignal()            # the list should be read again (and the balance)
    duplicated = pyqtSignal(dict)     # the form of a duplicated processing (manage.duplicate_form)

    def __init__(self, iface, page, results, asker, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.page = page
        self.results = results
        self.asker = asker
        self.runner = BackgroundRunner(self)
        self.store = TrackedProcessings()
        self.details = None
        page.load_button.clicked.connect(self.load)
        page.tiles_button.clicked.connect(self.view_tiles)
        page.details_button.clicked.connect(self.show_details)
        page.rename_button.clicked.connect(self.rename)
        page.duplicate_button.clicked.connect(self.duplicate)
        page.restart_button.clicked.connect(self.restart)
        page.rate_button.clicked.connect(self.rate)
        page.delete_button.clicked.connect(self.delete)
        page.copy_action.triggered.connect(self.copy_id)
        page.remove_action.triggered.connect(self.remove_from_list)
        page.table.doubleClicked.connect(lambda index: self.load())
        page.table.customContextMenuRequested.connect(self._context_menu)

    def _one(self):
        rows = self.page.selected_rows()
        if len(rows) != 1:
            self._say("Select one processing in the list first.")
            return None
        return rows[0]

    def _say(self, text):
        self.page.status_label.setText(text)

    def _job(self, description, job, done):
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            self._say(show_error(self.iface, exc))
            return None
        self._say(f"{description}…")
        return self.runner.job(f"Mapbridge: {description}", lambda feedback: job(client, feedback), done,
                               client=client)

    def _failed(self, outcome):
        if outcome.ok:
            return False
        self._say(show_error(self.iface, outcome.error))
        return True

    # -- results ------------------------------------------------------------------------------------
    def load(self):
        """Load the selected finished processing's result (double-click does the same)."""
        row = self._one()
        if row is None:
            return None
        if row["status"] != "OK":
            self._say(f"'{row['name']}' is {row['status_text'].lower()}; only finished processings have results.")
            return None
        return self.results.load(row["id"], row["name"] or row["id"])

    def view_tiles(self):
        """Add the selected processing's result and imagery tiles."""
        row = self._one()
        if row is not None:
            return self.results.view_tiles(dict(row.get("raw") or {}, id=row["id"], name=row["name"]))
        return None

    def show_details(self):
        """Show the selected processing's details (read fresh from the service)."""
        row = self._one()
        if row is None:
            return None
        return self._job("Reading the processing", lambda client, feedback: client.processing(row["id"]),
                         lambda outcome: self._details_read(row, outcome))

    def _details_read(self, row, outcome):
        if self._failed(outcome):
            return
        self._say("")
        self.details = DetailsDialog(row["id"], detail_rows(outcome.results), self.page)
        self.details.aoi_wanted.connect(lambda processing_id: self.results.add_aoi(processing_id, row["name"]))
        self.details.show()

    # -- management ---------------------------------------------------------------------------------
    def rename(self):
        """Rename the selected processing."""
        row = self._one()
        if row is None:
            return None
        name = self.asker.text("Rename the processing", "New name:", row["name"])
        if not name or name == row["name"]:
            return None
        return self._job("Renaming the processing", lambda client, feedback: manage.rename(client, row["id"], name),
                         lambda outcome: self._renamed(row, name, outcome))

    def _renamed(self, row, name, outcome):
        if self._failed(outcome):
            return
        if self.store.get(row["id"]) is not None:
            self.store.upsert(row["id"], name=name)
        self._say(f"Renamed to '{name}'.")
        self.changed.emit()

    def delete(self):
        """Delete the selected processings on Mapflow, after asking."""
        rows = self.page.selected_rows()
        if not rows:
            return None
        names = ", ".join(f"'{r['name']}'" for r in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5
                                                                  else "")
        text = (f"Delete {len(rows)} processing(s) on Mapflow: {names}?\n\nTheir results are deleted with them and "
                "cannot be restored. Credits already spent are not given back.")
        if not self.asker.yes_no("Delete Mapflow processings", text, "Delete", "Keep"):
            return None
        ids = [r["id"] for r in rows]
        return self._job(f"Deleting {len(ids)} processing(s)",
                         lambda client, feedback: manage.delete_many(client, ids, feedback), self._deleted)

    def _deleted(self, outcome):
        if self._failed(outcome):
            self.changed.emit()
            return
        report = outcome.results
        for processing_id in report.deleted:
            self.store.remove(processing_id)
        text = report.summary()
        self._say(show_message(self.iface, text) if report.failed else show_success(self.iface, text))
        self.changed.emit()

    def restart(self):
        """Restart the selected failed or cancelled processing."""
        row = self._one()
        if row is None:
            return None
        return self._job("Restarting the processing", lambda client, feedback: manage.restart(client, row["id"]),
                         lambda outcome: self._restarted(row, outcome))

    def _restarted(self, row, outcome):
        if self._failed(outcome):
            return
        self.store.upsert(row["id"], name=row["name"], projectId=row.get("projectId") or "", model=row["model"],
                          status="IN_PROGRESS", percent=0, loaded=False)
        self._say(f"'{row['name']}' was restarted; its result loads when it finishes.")
        self.changed.emit()

    def rate(self):
        """Rate the selected finished processing, or accept or reject it when it is under review."""
        row = self._one()
        if row is None:
            return None
        if manage.in_review(row.get("raw")):
            answer = self.asker.review(row["name"])
            if answer is None:
                return None
            accept, comment = answer
            return self._job("Sending the review",
                             lambda client, feedback: manage.review(client, row["id"], accept, comment),
                             lambda outcome: self._sent(outcome, "Accepted." if accept else "Rejected."))
        answer = self.asker.rating(row["name"])
        if answer is None:
            return None
        stars, comment = answer
        return self._job("Sending the rating",
                         lambda client, feedback: manage.rate(client, row["id"], stars, comment),
                         lambda outcome: self._sent(outcome, f"Rated {stars} of 5. Thank you."))

    def _sent(self, outcome, text):
        if self._failed(outcome):
            return
        self._say(text)
        self.changed.emit()

    def duplicate(self):
        """Fill the New processing page from the selected processing (its AOI included)."""
        row = self._one()
        if row is None:
            return None
        return self._job("Reading the processing to duplicate",
                         lambda client, feedback: manage.duplicate_form(client, row["id"]), self._duplicated)

    def _duplicated(self, outcome):
        if self._failed(outcome):
            return
        self._say("")
        self.duplicated.emit(outcome.results)

    # -- local --------------------------------------------------------------------------------------
    def copy_id(self):
        """Copy the selected processings' ids."""
        ids = self.page.selected_ids()
        if ids:
            QApplication.clipboard().setText("\n".join(ids))
            self._say(f"Copied {', '.join(ids)}.")

    def remove_from_list(self):
        """Hide the selected processings here (they stay on Mapflow)."""
        ids = self.page.selected_ids()
        for processing_id in ids:
            self.store.remove(processing_id)
        self.page.model.set_rows([r for r in self.page.model.rows if r["id"] not in ids])
        self.page.update_buttons()

    def _context_menu(self, position):
        from qgis.PyQt.QtWidgets import QMenu

        menu = QMenu(self.page.table)
        for button in self.page.buttons[:-1]:
            action = menu.addAction(button.text())
            action.setEnabled(button.isEnabled())
            action.triggered.connect(button.click)
        menu.addSeparator()
        menu.addAction(self.page.copy_action)
        menu.addAction(self.page.remove_action)
        menu.popup(self.page.table.viewport().mapToGlobal(position))

    def shutdown(self):
        """Cancel the calls in flight (their answers are dropped)."""
        self.runner.shutdown()
        if self.details is not None:
            self.details.close()
