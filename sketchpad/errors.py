"""The project's own errors: each carries a message a user can act on."""


class SketchpadError(Exception):
    """Base class: something the user can fix (a bad file, a bad option, a bad folder)."""


class ModelFileError(SketchpadError):
    """A model file that cannot be read or does not describe a model we can build."""


class DataError(SketchpadError):
    """A data source with no usable pairs, a bad spec, or an unreadable image."""


class ConfigError(SketchpadError):
    """A configuration value that is out of range or unknown."""


class TrainingError(SketchpadError):
    """A training run that cannot start or continue (non-finite loss, bad resume folder)."""


class DeviceError(SketchpadError):
    """A requested device that is not available."""
