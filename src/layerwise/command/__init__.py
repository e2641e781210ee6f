"""The `layerwise` command (`cli`): the user's commands and the workflow's steps (`steps`, each declared
by its signature, from which `declaration` makes its command line and its rule's arguments); and the fork
server from which local jobs start warm (`forkserver`; the command's side `forkclient`, a forked job's
`forkchild`)."""
