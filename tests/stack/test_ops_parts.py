"""The stack's parts on their own: port owners, process groups, Java, registry."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from ops.java import java_version
from ops.ports import is_port_free, port_owner
from ops.processes import PidRecord, group_members, stop_group
from ops.registry import alias_version
from tests.fixtures.environment import free_port
from tests.fixtures.training import TrainedModel


def test_port_owner_names_this_process_while_it_listens() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        owner = port_owner(port)
        free = is_port_free("127.0.0.1", port)

    assert owner is not None
    assert owner.pid == os.getpid()
    assert owner.command is not None and "python" in owner.command
    assert f"pid {os.getpid()}" in owner.describe()
    assert free is False
    assert is_port_free("127.0.0.1", port) is True


def test_port_owner_of_a_free_port_is_none() -> None:
    port = free_port()

    assert port_owner(port) is None
    assert is_port_free("127.0.0.1", port) is True


def test_stop_group_kills_a_group_that_ignores_sigterm() -> None:
    stubborn = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; sleep 60 & sleep 60; wait"],
        start_new_session=True,
    )
    try:
        assert group_members(stubborn.pid)

        gone = stop_group(stubborn.pid, timeout_s=1.0, process=stubborn)

        assert gone is True
        assert group_members(stubborn.pid) == []
        assert stubborn.returncode is not None
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
            stubborn.wait()


def test_pid_record_of_a_reused_pid_is_not_running(tmp_path: Path) -> None:
    # This test process is alive but is not the recorded command.
    record = PidRecord("scorer", os.getpid(), ("/usr/bin/python3", "-m", "serving"))
    record.write(tmp_path / "scorer.pid")

    read_back = PidRecord.read(tmp_path / "scorer.pid")

    assert read_back == record
    assert read_back is not None and read_back.is_running() is False


@pytest.mark.parametrize(
    "content", ["", "not json", '{"name": "ui"}'], ids=["empty", "garbage", "no-pid"]
)
def test_pid_record_read_ignores_a_broken_file(content: str, tmp_path: Path) -> None:
    path = tmp_path / "ui.pid"
    path.write_text(content)

    assert PidRecord.read(path) is None


def test_java_version_is_17_or_later_on_this_machine() -> None:
    java = java_version()

    assert java.major >= 17
    assert java.full.startswith(str(java.major))


def test_alias_version_reads_the_trained_production_version(
    trained_model: TrainedModel,
) -> None:
    version = alias_version(
        trained_model.tracking_uri, trained_model.model_name, "production"
    )

    assert version == trained_model.version


def test_alias_version_of_an_unknown_alias_is_none(trained_model: TrainedModel) -> None:
    assert (
        alias_version(trained_model.tracking_uri, trained_model.model_name, "nope")
        is None
    )


def test_alias_version_of_a_missing_store_is_none_and_creates_no_file(
    tmp_path: Path,
) -> None:
    database = tmp_path / "mlflow.db"

    version = alias_version(f"sqlite:///{database}", "mojo-demo", "production")

    assert version is None
    assert not database.exists()
