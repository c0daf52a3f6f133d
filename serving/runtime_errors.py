"""Exceptions of the scoring runtime (JVM, Java build, MOJO scoring).

They know nothing about HTTP; the API layer maps them to status codes.

Hierarchy::

    MojoRuntimeError         base of everything below
    ├── JavaNotFoundError    no ``java``/``javac`` on PATH
    ├── JavaBuildError       ``javac`` failed on the project's Java source
    ├── RuntimeUnavailable   the JVM is stopped, dead or not answering (503, restart it)
    ├── ModelOpenError       the model folder, MOJO or schema cannot be used
    ├── InvalidBatchError    the columns handed to the scorer do not fit (422)
    ├── CsvFormatError       the CSV cannot be read: ``line`` and ``problem`` (400)
    └── JavaCallError        Java threw; ``java_class`` and the Java message
"""

from __future__ import annotations


class MojoRuntimeError(Exception):
    """Base of the scoring runtime's errors."""


class JavaNotFoundError(MojoRuntimeError):
    """No Java executable could be found."""


class JavaBuildError(MojoRuntimeError):
    """The project's Java batch scorer did not compile."""


class RuntimeUnavailable(MojoRuntimeError):
    """The JVM behind a scorer is stopped, dead or not answering."""


class ModelOpenError(MojoRuntimeError):
    """A model folder, its MOJO or its schema cannot be used for scoring."""


class InvalidBatchError(MojoRuntimeError, ValueError):
    """The columns handed to the scorer do not have the announced shape."""


class CsvFormatError(MojoRuntimeError):
    """A CSV document cannot be read; ``line`` is 1-based and physical."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"The CSV cannot be read: line {line}: {problem}.")
        self.line = line
        self.problem = problem


class JavaCallError(MojoRuntimeError):
    """Java threw an exception while serving a call."""

    def __init__(self, java_class: str, java_message: str) -> None:
        super().__init__(f"{java_class}: {java_message}")
        self.java_class = java_class
        self.java_message = java_message
