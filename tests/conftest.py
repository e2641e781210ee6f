# tests/ is on sys.path (this file's folder), so tests import the helpers `repo` and `runner`.
