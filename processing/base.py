"""Base class of every Mapbridge algorithm: clients gathered on the main thread, one error conversion."""

from __future__ import annotations

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingParameterFeatureSource

from ..api.errors import MapbridgeError, service_title
from ..api.scrub import scrub


def _failure(feedback, error):
    """The QgsProcessingException of a MapbridgeError, after telling feedback and the Mapbridge log."""
    from ..core.feedback import record_error   # loaded on the first failure, not at QGIS start
    from ..core.log import log_exception

    record_error(feedback, error)
    return QgsProcessingException(log_exception(error))


class MapbridgeAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set `services`, name/display/group/help, and implement run_job()."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "run" in cls.__dict__:
            # QgsProcessingAlgorithm.run() is QGIS API (processing.run calls it); overriding it breaks the toolbox.
            raise TypeError(f"{cls.__name__}: implement run_job(parameters, context, feedback), not run()")

    services = ()
    group_id = ""
    group_name = ""
    help_text = ""

    def __init__(self):
        super().__init__()
        self.clients = {}
        self.sources = {}

    def createInstance(self):  # noqa: N802 - QGIS API name
        return type(self)()

    def group(self):
        return self.group_name

    def groupId(self):  # noqa: N802 - QGIS API name
        return self.group_id

    def shortHelpString(self):  # noqa: N802 - QGIS API name
        return self.help_text

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        """Build the service clients here: this runs on the main thread (auth DB, QgsSettings, proxy)."""
        from ..core.service_factory import client_for   # HTTP stack loaded when a job runs, not at QGIS start

        try:
            self.clients = {service: client_for(service) for service in self.services}
            for client in self.clients.values():
                client.config.require_token()
        except MapbridgeError as exc:
            raise _failure(feedback, exc) from None
        # A layer's feature source is made here too: made in the worker it would read the layer while the user
        # (or a commit still finishing) changes it on the main thread, which crashes QGIS.
        self.sources = {definition.name(): self.parameterAsSource(parameters, definition.name(), context)
                        for definition in self.parameterDefinitions()
                        if isinstance(definition, QgsProcessingParameterFeatureSource)}
        return True

    def source_of(self, parameters, name, context):
        """The feature source of a parameter: the one made on the main thread, else made now."""
        source = self.sources.get(name)
        return source if source is not None else self.parameterAsSource(parameters, name, context)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        for client in self.clients.values():
            client.cancel_check = feedback.isCanceled     # cancel aborts a request in progress too
        try:
            return self.run_job(parameters, context, feedback)
        except MapbridgeError as exc:
            raise _failure(feedback, exc) from None
        except QgsProcessingException:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must reach the user as a message, its traceback the log
            from ..core.feedback import record_error
            from ..core.log import log_exception

            log_exception(exc)
            who = ", ".join(service_title(s) for s in self.services) or "Mapbridge"
            error = MapbridgeError(f"unexpected error in {self.displayName()} ({type(exc).__name__}: {exc})",
                                   service=self.services[0] if len(self.services) == 1 else None,
                                   hint="Details are in the Mapbridge log tab; please report it")
            error.logged = True
            record_error(feedback, error)
            raise QgsProcessingException(scrub(
                f"{who}: unexpected error in {self.displayName()} ({type(exc).__name__}: {exc}). "
                "Details are in the Mapbridge log tab; please report it.")) from None
        finally:
            self.sources = {}
            for client in self.clients.values():
                client.close()

    def run_job(self, parameters, context, feedback):
        """The algorithm's work; raise MapbridgeError for anything the user can act on."""
        raise NotImplementedError
