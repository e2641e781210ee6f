"""The `layerwise` command (`cli`): the user's commands and the workflow's steps; and the fork server
from which local jobs start warm (`forkserver`)."""
