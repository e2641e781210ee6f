"""The one base of the errors a user's input causes (config, data, a device, a results folder): the
command line reports them as one clear line instead of a traceback. Every module may raise them; this
one imports nothing."""


class UserError(Exception):
    """Caused by the user's input; the message says what, where, and what is allowed."""
