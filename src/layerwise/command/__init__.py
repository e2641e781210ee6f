"""The `layerwise` command (`cli`): the user's commands and the workflow's steps (`steps` runs them,
`step_parsers` reads their command lines); and the fork server from which local jobs start warm
(`forkserver`; the command's side `forkclient`, a forked job's `forkchild`)."""
