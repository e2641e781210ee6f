"""Errors caused by the user's input: reported as one clear line instead of a traceback."""

from layerwise.config import ConfigError
from layerwise.data import DataError
from layerwise.preprocess import PreprocessError
from layerwise.selection import StageFailed
from layerwise.space import SpaceError

USER_ERRORS = (ConfigError, DataError, PreprocessError, SpaceError, StageFailed)
