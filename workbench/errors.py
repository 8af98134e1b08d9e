"""Errors a user can cause, each saying what happened and what to do, in one sentence.

Every class also derives from the built-in exception a Python user would expect
(FileNotFoundError, ValueError, ...), so `except ValueError` keeps working.
"""


class WorkbenchError(Exception):
    """Base of every error the workbench raises on purpose."""


class CheckpointNotFoundError(WorkbenchError, FileNotFoundError):
    """A name is neither a local folder/file, a cached Hub id, a packaged checkpoint, nor reachable on the Hub."""


class WeightsError(WorkbenchError, ValueError):
    """A weight file is corrupt, unsafe, or does not fit the model (missing, unexpected or mis-shaped tensor)."""


class UnsupportedModelError(WorkbenchError, ValueError):
    """A config.json `model_type` (or a task for it) that the registry does not know."""


class TokenizerError(WorkbenchError, ValueError):
    """Tokenizer files are missing or the call's arguments do not fit together."""


class GenerationError(WorkbenchError, ValueError):
    """Arguments to generate() that cannot work (prompt longer than the context, ...)."""


class TrainingError(WorkbenchError, ValueError):
    """Fine-tuning cannot start or go on: bad data (empty, missing columns, unseen labels) or a NaN/inf loss."""
