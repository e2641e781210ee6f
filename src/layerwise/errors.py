"""Errors caused by the user's input: reported as one clear line instead of a traceback."""

from layerwise.config import ConfigError
from layerwise.data import DataError
from layerwise.devices import DeviceError
from layerwise.overview import NoResults
from layerwise.selection import StageFailed
from layerwise.space import SpaceError
from layerwise.transforms import PreprocessError

USER_ERRORS = (ConfigError, DataError, DeviceError, NoResults, PreprocessError, SpaceError, StageFailed)
