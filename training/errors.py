"""Errors of the training job, each worded for the person who runs it.

TrainingError                 base: exit code 1, one readable line
 +-- UsageError               bad options or bad data: exit code 2
 +-- EnvironmentProblem       Java, ports, H2O cluster, MLflow store: exit code 3
 +-- ParityError              MOJO and cluster disagree: exit code 4
"""

from __future__ import annotations


class TrainingError(Exception):
    """A failure the job explains in one line; nothing was registered."""

    exit_code = 1


class UsageError(TrainingError):
    """The options or the data cannot work; the message says how to fix them."""

    exit_code = 2


class EnvironmentProblem(TrainingError):
    """Something outside the data is missing or busy: Java, a port, a store."""

    exit_code = 3


class ParityError(TrainingError):
    """The MOJO scored outside the cluster disagrees with the cluster."""

    exit_code = 4
