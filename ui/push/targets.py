"""The service-specific part of the Push tab: where the features go and how (one small widget per service)."""

from __future__ import annotations

from qgis.core import QgsSettings
from qgis.gui import QgsFieldComboBox
from qgis.PyQt.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QToolButton,
    QWidget,
)

from ...core import settings_keys
from ...core.push.choices import GEOMETRY_MODES, METHOD_CREATE, METHOD_DELETE, METHODS, MODE_POINT_ON_SURFACE
from ...core.push.payloads import (
    MapalyzePayloads,
    MapiryPayloads,
    MapsemblePayloads,
    default_field_names,
    key_field_names,
)
from .remote_lists import RemoteList


NO_ATTRIBUTES = "Tick at least one attribute to send, or tick them all."


def _narrow(combo, length=10):
    """A combo that never widens the dock for a long entry (it elides instead)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(length)
    return combo


def _field_combo(parent, allow_empty=True):
    combo = QgsFieldComboBox(parent)
    combo.setAllowEmptyFieldName(allow_empty)
    return _narrow(combo)


def _remote_combo(parent, name, tooltip):
    """An editable combo of the account's maps or forms that never widens the dock (long names are elided)."""
    combo = QComboBox(parent)
    combo.setObjectName(name)
    combo.setEditable(True)
    combo.setToolTip(tooltip)
    return _narrow(combo)


def _current_field(combo):
    return combo.currentField() or None


class PushTarget(QWidget):
    """One service's part of the Push tab: its own inputs, the algorithm parameters and the preview's payloads."""

    service = ""
    algorithm = ""
    name_label = ""             # the label of the tab's name/label field, "" when the service takes none
    uses_attributes = False     # whether the tab's attribute checklist applies

    def __init__(self, parent=None):
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.field_combos = []
        self.remote = None          # a RemoteList of maps or forms, loaded when first shown

    def field_combo(self, label, tooltip=""):
        """A field combo (empty allowed) that follows the tab's layer."""
        combo = _field_combo(self)
        combo.setToolTip(tooltip)
        self.field_combos.append(combo)
        self.form.addRow(label, combo)
        return combo

    def activate(self):
        """Load the account's maps/forms the first time this target is shown (when that needs no prompt)."""
        if self.remote is not None and not self.remote.loaded:
            self.remote.load(quiet=True)

    def default_fields(self, layer):
        """The fields ticked by default: all that are data (not the layer's primary key, e.g. a GeoPackage's fid;
        into Mapalyze, no record_id), as the algorithm sends without FIELDS."""
        return default_field_names(layer.fields(), self.service, key_field_names(layer))

    def describe(self):
        """Where the features go, for the question before a big push: "the Mapiry map map_demo"."""
        return self.service

    def plan(self):
        """The target's plan when the service tells it (Mapsemble maps: "free"/"pro"), else None."""
        return None

    def set_layer(self, layer):
        """Field combos follow the chosen layer."""
        for combo in self.field_combos:
            combo.setLayer(layer)

    def payload_problem(self, name_field, field_names):
        """Why no payload can be built (the preview says it instead of counting), or None."""
        if self.uses_attributes and field_names == []:
            return NO_ATTRIBUTES
        return None

    def problem(self, name_field, field_names):
        """Why the push cannot start, or None."""
        return self.payload_problem(name_field, field_names)

    def shutdown(self):
        """Stop loading maps or forms (their answer is then ignored)."""
        if self.remote is not None:
            self.remote.cancel()


def _with_fields(params, field_names):
    """FIELDS only when not every attribute is ticked (the algorithm's default is all)."""
    if field_names is not None:
        params["FIELDS"] = field_names
    return params


class MapiryTarget(PushTarget):
    """Mapiry: an existing map id or a new map's title, the description field, what lines/polygons become."""

    service = "mapiry"
    algorithm = "mapbridge:mapiry_push"
    name_label = "Name field"

    def __init__(self, parent=None):
        super().__init__(parent)
        form = self.form
        self.existing_radio = QRadioButton("Map id", self)
        self.new_radio = QRadioButton("New map", self)
        group = QButtonGroup(self)
        group.addButton(self.existing_radio)
        group.addButton(self.new_radio)
        self.map_id_edit = QLineEdit(self)
        self.map_id_edit.setObjectName("MapiryMapId")
        self.map_id_edit.setPlaceholderText("id of one of your Mapiry maps")
        self.map_id_edit.setText(QgsSettings().value(settings_keys.PUSH_MAPIRY_MAP_ID, "", type=str))
        self.title_edit = QLineEdit(self)
        self.title_edit.setObjectName("MapiryNewTitle")
        self.title_edit.setPlaceholderText("title of the map to create")
        form.addRow(self.existing_radio, self.map_id_edit)
        form.addRow(self.new_radio, self.title_edit)
        self.description_combo = self.field_combo("Description field")
        self.mode_combo = _narrow(QComboBox(self))
        self.mode_combo.addItems(list(GEOMETRY_MODES))
        self.mode_combo.setCurrentIndex(MODE_POINT_ON_SURFACE)
        form.addRow("Lines and polygons become", self.mode_combo)
        (self.existing_radio if self.map_id_edit.text() else self.new_radio).setChecked(True)
        self.existing_radio.toggled.connect(self._sync)
        self._sync()

    def _sync(self):
        self.map_id_edit.setEnabled(self.existing_radio.isChecked())
        self.title_edit.setEnabled(self.new_radio.isChecked())

    def use_map(self, map_id):
        """Switch to an existing map (after a push created it)."""
        self.map_id_edit.setText(map_id)
        self.map_id_edit.setCursorPosition(0)
        self.existing_radio.setChecked(True)

    def payload_problem(self, name_field, field_names):
        return None if name_field else "Choose the field that holds the location names."

    def problem(self, name_field, field_names):
        problem = self.payload_problem(name_field, field_names)
        if problem:
            return problem
        if self.existing_radio.isChecked() and not self.map_id_edit.text().strip():
            return "Enter a Mapiry map id, or choose New map."
        if self.new_radio.isChecked() and not self.title_edit.text().strip():
            return "Enter a title for the new map."
        return None

    def describe(self):
        if self.existing_radio.isChecked():
            return f"the Mapiry map {self.map_id_edit.text().strip()}"
        return f"a new Mapiry map “{self.title_edit.text().strip()}”"

    def parameters(self, name_field, field_names):
        """Algorithm parameters of this target."""
        params = {"NAME_FIELD": name_field, "DESCRIPTION_FIELD": _current_field(self.description_combo),
                  "GEOMETRY_MODE": self.mode_combo.currentIndex()}
        if self.existing_radio.isChecked():
            params["MAP_ID"] = self.map_id_edit.text().strip()
            QgsSettings().setValue(settings_keys.PUSH_MAPIRY_MAP_ID, params["MAP_ID"])
        else:
            params["NEW_MAP_TITLE"] = self.title_edit.text().strip()
        return params

    def payload_factory(self, layer, transform_context, name_field, field_names):
        """A callable making the payload builder the algorithm uses (called where the count runs)."""
        fields, crs = layer.fields(), layer.crs()
        description, mode = _current_field(self.description_combo), self.mode_combo.currentIndex()
        return lambda: MapiryPayloads(fields, crs, transform_context, name_field, description, mode)


class MapsembleTarget(PushTarget):
    """Mapsemble: a map from the account, the method and the remote id field."""

    service = "mapsemble"
    algorithm = "mapbridge:mapsemble_push"
    name_label = "Label field"
    uses_attributes = True

    def __init__(self, parent=None):
        super().__init__(parent)
        form = self.form
        row = QHBoxLayout()
        self.map_combo = _remote_combo(self, "MapsembleMap", "One of your Mapsemble maps (or type its id)")
        self.refresh_button = QToolButton(self)
        self.refresh_button.setText("↻")
        self.refresh_button.setToolTip("Reload your maps")
        row.addWidget(self.map_combo, 1)
        row.addWidget(self.refresh_button)
        form.addRow("Map", row)
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        form.addRow("", self.status_label)
        self.method_combo = _narrow(QComboBox(self))
        self.method_combo.addItems(list(METHODS))
        self.method_combo.setCurrentIndex(METHOD_CREATE)
        form.addRow("Method", self.method_combo)
        self.remote_combo = self.field_combo(
            "Remote id field", "Field with each feature's remote id: pushing again updates instead of duplicating "
                               "(the map needs a remoteField)")
        self.remote = RemoteList("mapsemble", self.map_combo, lambda client: client.list_maps(), self.status_label,
                                 QgsSettings().value(settings_keys.PUSH_MAPSEMBLE_MAP_ID, "", type=str))
        self.remote.select(self.remote.remembered)
        self.refresh_button.clicked.connect(self.remote.load)

    def payload_problem(self, name_field, field_names):
        if self.method_combo.currentIndex() == METHOD_DELETE:
            return None         # a delete only names the features
        if not name_field:
            return "Choose the label field."
        return super().payload_problem(name_field, field_names)

    def problem(self, name_field, field_names):
        if not self.remote.current_id():
            return "Choose a Mapsemble map."
        if self.method_combo.currentIndex() != METHOD_CREATE and not _current_field(self.remote_combo):
            return "Replace, update and delete need the remote id field."
        return self.payload_problem(name_field, field_names)

    def parameters(self, name_field, field_names):
        """Algorithm parameters of this target."""
        map_id = self.remote.current_id()
        QgsSettings().setValue(settings_keys.PUSH_MAPSEMBLE_MAP_ID, map_id)
        return _with_fields({"MAP_ID": map_id, "LABEL_FIELD": name_field, "METHOD": self.method_combo.currentIndex(),
                             "REMOTE_ID_FIELD": _current_field(self.remote_combo)}, field_names)

    def describe(self):
        map_id = self.remote.current_id()
        name = (self.remote.items.get(map_id) or {}).get("name")
        return f"the Mapsemble map “{name}” ({map_id})" if name else f"the Mapsemble map {map_id}"

    def plan(self):
        plan = (self.remote.items.get(self.remote.current_id()) or {}).get("plan")
        return str(plan).lower() if plan else None

    def payload_factory(self, layer, transform_context, name_field, field_names):
        """A callable making the payload builder the algorithm uses (called where the count runs)."""
        fields, crs, keys = layer.fields(), layer.crs(), key_field_names(layer)
        method, remote = self.method_combo.currentIndex(), _current_field(self.remote_combo)
        return lambda: MapsemblePayloads(fields, crs, transform_context, method, name_field, field_names, remote,
                                         key_fields=keys)


class MapalyzeTarget(PushTarget):
    """Mapalyze: the form and the capture-time field."""

    service = "mapalyze"
    algorithm = "mapbridge:mapalyze_push"
    uses_attributes = True

    def __init__(self, parent=None):
        super().__init__(parent)
        self.form_combo = _remote_combo(self, "MapalyzeForm", "The form the new records belong to (or type its id)")
        self.refresh_button = QToolButton(self)
        self.refresh_button.setText("↻")
        self.refresh_button.setToolTip("Reload your forms")
        row = QHBoxLayout()
        row.addWidget(self.form_combo, 1)
        row.addWidget(self.refresh_button)
        self.form.addRow("Form", row)
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.form.addRow("", self.status_label)
        self.captured_combo = self.field_combo("Capture time field")
        self.remote = RemoteList("mapalyze", self.form_combo, lambda client: client.forms(), self.status_label,
                                 QgsSettings().value(settings_keys.PUSH_MAPALYZE_FORM_ID, "", type=str))
        self.remote.select(self.remote.remembered)
        self.refresh_button.clicked.connect(self.remote.load)

    def problem(self, name_field, field_names):
        if not self.remote.current_id():
            return "Choose a Mapalyze form."
        return self.payload_problem(name_field, field_names)

    def parameters(self, name_field, field_names):
        """Algorithm parameters of this target."""
        form_id = self.remote.current_id()
        QgsSettings().setValue(settings_keys.PUSH_MAPALYZE_FORM_ID, form_id)
        return _with_fields({"FORM_ID": form_id, "CAPTURED_AT_FIELD": _current_field(self.captured_combo)},
                            field_names)

    def describe(self):
        form_id = self.remote.current_id()
        name = (self.remote.items.get(form_id) or {}).get("name")
        return f"the Mapalyze form “{name}” ({form_id})" if name else f"the Mapalyze form {form_id}"

    def set_layer(self, layer):
        """Field combos follow the layer; a Mapalyze layer's capture time is its captured_at."""
        super().set_layer(layer)
        if layer is not None and layer.fields().lookupField("captured_at") >= 0:
            self.captured_combo.setField("captured_at")

    def payload_factory(self, layer, transform_context, name_field, field_names):
        """A callable making the payload builder the algorithm uses (called where the count runs)."""
        fields, crs, captured = layer.fields(), layer.crs(), _current_field(self.captured_combo)
        keys = key_field_names(layer)
        return lambda: MapalyzePayloads(fields, crs, transform_context, field_names, captured, key_fields=keys)
