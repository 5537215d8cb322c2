"""Errors a user can cause: bad scenario files, bad parameters, bad command-line input.

`InputError` carries one line that names what is wrong and where (field and file); the
command line prints it and exits with status 2, before anything runs or is written.
"""


class InputError(ValueError):
    """Bad user input; the message is one line naming the field and the file."""


class DomainError(RuntimeError):
    """A run left the range the model can represent (for example prices that run away by a
    factor of a million because no holder is left to sell); the run stops with this message."""
