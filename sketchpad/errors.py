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


class UsageError(SketchpadError):
    """A command line that does not parse: an unknown flag, a value of the wrong kind."""


class RemoteError(SketchpadError):
    """A remote generator that cannot be reached, refused us, or answered with an error."""


class ConnectionLost(RemoteError):
    """The connection to a remote generator dropped: the app falls back to its own model."""


def failure_message(exc: BaseException) -> str:
    """One line for a command that failed: a user error's own message; for anything else,
    that an internal error happened, and that `--debug` shows its traceback."""
    if isinstance(exc, SketchpadError):
        return str(exc)
    lines = str(exc).strip().splitlines()
    detail = f": {lines[0]}" if lines else ""
    return (
        f"internal error ({type(exc).__name__}{detail}); run the command again with --debug "
        "to see the details"
    )
