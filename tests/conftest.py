# tests/ is on sys.path (this file's folder), so tests import their shared helpers from `support`.
