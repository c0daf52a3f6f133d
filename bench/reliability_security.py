"""Security checks: tokens, keys, the JVM gateway, pickles, logs, CORS, containers.

Live checks run against real scorers; static checks read the source tree
(AST, not grep, so comments and strings do not count) and the deployment
files. Every function returns figures and a ``passed`` verdict.
"""

from __future__ import annotations

import ast
import pickle
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml  # type: ignore[import-untyped]
from py4j.java_gateway import GatewayParameters, JavaGateway, launch_gateway
from py4j.protocol import Py4JError

from bench.reliability_registry import PrivateRegistry, booby_trapped_pyfunc
from bench.reliability_scorer import ScorerHandle, StartScorer

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "reliability-admin-token-0123456789"
API_KEY = "reliability-api-key-abcdefghijklmn"
SECRET_VALUE = "sk_live_reliability_SECRET_51HxQ"
FOREIGN_ORIGIN = "https://evil.example"
ALLOWED_ORIGIN = "https://ui.example"
_UNPICKLING_MODULES = frozenset({"pickle", "cloudpickle", "dill", "joblib", "shelve"})
_UNPICKLING_CALLS = frozenset({"load_model", "read_pickle", "loads", "load"})
_H2O_PORT = 54321
_LISTEN = "0A"


def auth_and_logs(
    start_scorer: StartScorer, registry: PrivateRegistry
) -> dict[str, object]:
    """Admin token and API key enforced; no secret or payload in the INFO log."""
    scorer = start_scorer(
        **registry.scorer_settings(),
        admin_token=ADMIN_TOKEN,
        api_key=API_KEY,
        log_level="INFO",
    )
    url = scorer.base_url
    example = httpx.get(f"{url}/model", timeout=10).json()["example_request"]
    numeric = next(
        (name for name, value in example.items() if isinstance(value, int | float)),
        next(iter(example)),
    )
    payload = {**example, "card_number": SECRET_VALUE}
    bad_value = {**example, numeric: SECRET_VALUE}
    wrong_token = "x" * len(ADMIN_TOKEN)
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    key = {"X-API-Key": API_KEY}
    answers = {
        "admin reload, no token": _status("POST", f"{url}/admin/reload"),
        "admin reload, wrong token of the same length": _status(
            "POST", f"{url}/admin/reload", {"Authorization": f"Bearer {wrong_token}"}
        ),
        "admin reload, right token": _status("POST", f"{url}/admin/reload", bearer),
        "predict, no API key": _status("POST", f"{url}/predict", json=example),
        "predict, wrong API key": _status(
            "POST", f"{url}/predict", {"X-API-Key": "w" * len(API_KEY)}, json=example
        ),
        "predict, X-API-Key": _status("POST", f"{url}/predict", key, json=payload),
        "predict, key as bearer": _status(
            "POST",
            f"{url}/predict",
            {"Authorization": f"Bearer {API_KEY}"},
            json=example,
        ),
        "predict, secret in a bad value": _status(
            "POST", f"{url}/predict", key, json=bad_value
        ),
        "predict/csv, no API key": _status(
            "POST", f"{url}/predict/csv", content=b"a\n1\n"
        ),
        "invocations, no API key": _status(
            "POST", f"{url}/invocations", json={"instances": [example]}
        ),
        "health/live, no API key": _status("GET", f"{url}/health/live"),
    }
    expected = {
        "admin reload, no token": 401,
        "admin reload, wrong token of the same length": 401,
        "admin reload, right token": 200,
        "predict, no API key": 401,
        "predict, wrong API key": 401,
        "predict, X-API-Key": 200,
        "predict, key as bearer": 200,
        "predict, secret in a bad value": 422,
        "predict/csv, no API key": 401,
        "invocations, no API key": 401,
        "health/live, no API key": 200,
    }
    log = scorer.log_text()
    leaks = [
        name
        for name, secret in {
            "admin token": ADMIN_TOKEN,
            "API key": API_KEY,
            "wrong token": wrong_token,
            "secret-looking value": SECRET_VALUE,
        }.items()
        if secret in log
    ]
    mismatches = {k: v for k, v in answers.items() if v != expected[k]}
    return {
        "answers": answers,
        "mismatches": mismatches,
        "log_lines_scanned": log.count("\n"),
        "secrets_in_info_log": leaks,
        "passed": not mismatches and not leaks,
    }


def open_by_default(
    start_scorer: StartScorer,
    registry: PrivateRegistry,
    *,
    configured_cors: bool = True,
) -> dict[str, object]:
    """Nothing configured: admin disabled, predictions open, CORS closed.

    With ``configured_cors`` a second scorer shows that a listed origin does
    get the header (the positive control of the CORS probe).
    """
    plain = start_scorer(**registry.scorer_settings())
    example = httpx.get(f"{plain.base_url}/model", timeout=10).json()["example_request"]
    admin = _status(
        "POST",
        f"{plain.base_url}/admin/reload",
        {"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    predict = _status("POST", f"{plain.base_url}/predict", json=example)
    closed = _cors_headers(plain.base_url, FOREIGN_ORIGIN)
    allowed: dict[str, str | None] | None = None
    foreign_when_open: dict[str, str | None] = {}
    if configured_cors:
        opened = start_scorer(**registry.scorer_settings(), cors_origins=ALLOWED_ORIGIN)
        allowed = _cors_headers(opened.base_url, ALLOWED_ORIGIN)
        foreign_when_open = _cors_headers(opened.base_url, FOREIGN_ORIGIN)
    return {
        "admin_reload_without_admin_token_configured": admin,
        "predict_without_api_key_configured": predict,
        "cors_default_foreign_origin": closed,
        "cors_configured_allowed_origin": allowed if allowed else "not checked",
        "cors_configured_foreign_origin": foreign_when_open,
        "passed": admin == 404
        and predict == 200
        and not any(closed.values())
        and (allowed is None or allowed["preflight"] == ALLOWED_ORIGIN)
        and not any(foreign_when_open.values()),
    }


def gateway_locked(scorer: ScorerHandle) -> dict[str, object]:
    """The JVM listens on 127.0.0.1 only and refuses py4j calls without the token."""
    listening = [
        address for pid in scorer.jvm_pids() for address in listening_sockets(pid)
    ]
    attempts = []
    for _host, port in listening:
        for label, token in (("no token", None), ("wrong token", "not-the-token")):
            attempts.append(
                {"port": port, "client": label, "outcome": _py4j_attempt(port, token)}
            )
        attempts.append(
            {"port": port, "client": "raw command", "outcome": _raw_py4j(port)}
        )
    control = _control_gateway()
    return {
        "jvm_listening": [f"{host}:{port}" for host, port in listening],
        "attempts": attempts,
        "control_gateway": control,
        "passed": bool(listening)
        and all(host == "127.0.0.1" for host, _ in listening)
        and all(a["outcome"] == "refused" for a in attempts)
        and control == {"right token": "answered", "wrong token": "refused"},
    }


def _control_gateway() -> dict[str, str]:
    """The same probes against a gateway whose token we know: they can tell."""
    port, token, process = launch_gateway(
        die_on_exit=True, enable_auth=True, return_proc=True
    )
    try:
        return {
            "right token": _py4j_attempt(port, token),
            "wrong token": _py4j_attempt(port, "not-the-token"),
        }
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=10)


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket ``pid`` listens on, from /proc.

    A process that exits while it is read listens on nothing: the answer is [].
    """
    try:
        return _listening_sockets(pid)
    except (FileNotFoundError, ProcessLookupError):
        return []


def _listening_sockets(pid: int) -> list[tuple[str, int]]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and inode in inodes:
                found.append(_decode_address(local))
    return found


def _decode_address(local: str) -> tuple[str, int]:
    address, port = local.split(":")
    if len(address) == 8:
        host = socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1])
    else:
        raw = bytes.fromhex(address)
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        host = socket.inet_ntop(socket.AF_INET6, words).removeprefix("::ffff:")
    return host, int(port, 16)


def _py4j_attempt(port: int, token: str | None) -> str:
    gateway = JavaGateway(
        gateway_parameters=GatewayParameters(
            address="127.0.0.1", port=port, auth_token=token, read_timeout=5
        )
    )
    try:
        gateway.jvm.java.lang.System.getProperty("user.name")
    except Py4JError:
        return "refused"
    finally:
        gateway.close()
    return "answered"


def _raw_py4j(port: int) -> str:
    """A hand-made py4j call (System.getProperty) without the auth handshake."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"r\nu\njava.lang.System\ne\n")
        try:
            answer = sock.recv(4096)
        except (TimeoutError, ConnectionResetError):
            return "refused"
    return "answered" if answer.startswith(b"!y") else "refused"


def pickle_free(
    start_scorer: StartScorer, registry: PrivateRegistry, marker: Path
) -> dict[str, object]:
    """No unpickling in the scorer's code; a booby-trapped pyfunc is served inert."""
    static = unpickling_uses(ROOT / "serving")
    control = marker.with_name(f"{marker.name}-control")
    pickle.loads(booby_trapped_pyfunc({}, control)["python_model.pkl"])
    version = registry.register_files(
        booby_trapped_pyfunc(registry.model_files(), marker), "trap"
    )
    registry.move_alias(version)
    scorer = start_scorer(**registry.scorer_settings())
    example = httpx.get(f"{scorer.base_url}/model", timeout=10).json()[
        "example_request"
    ]
    response = httpx.post(f"{scorer.base_url}/predict", json=example, timeout=10)
    answered = (
        response.json()["model"]["version"] if response.status_code == 200 else None
    )
    registry.move_alias(registry.first_version)
    return {
        "unpickling_uses_in_serving": static,
        "trap_version": version,
        "trap_version_served": answered == version,
        "trap_fires_when_unpickled": control.exists(),
        "trap_fired": marker.exists(),
        "passed": not static
        and control.exists()
        and answered == version
        and not marker.exists(),
    }


def unpickling_uses(package: Path) -> list[str]:
    """Imports of pickle-like modules and load_model/pickle.load calls, by location."""
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(package.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for module in modules:
                    if module.split(".")[0] in _UNPICKLING_MODULES:
                        found.append(f"{where} imports {module}")
            elif isinstance(node, ast.Call) and _is_unpickling_call(node):
                found.append(f"{where} calls {ast.unparse(node.func)}")
    return found


def _is_unpickling_call(node: ast.Call) -> bool:
    func = node.func
    if not isinstance(func, ast.Attribute) or func.attr not in _UNPICKLING_CALLS:
        return False
    owner = ast.unparse(func.value)
    if func.attr == "load_model":
        return True
    if func.attr == "read_pickle":
        return True
    # pickle.load(s) under another name, numpy.load(allow_pickle=True)
    pickled = any(
        keyword.arg == "allow_pickle"
        and not (
            isinstance(keyword.value, ast.Constant) and keyword.value.value is False
        )
        for keyword in node.keywords
    )
    return owner.split(".")[-1] in _UNPICKLING_MODULES or pickled


def admin_compare_is_constant_time() -> dict[str, object]:
    """Secrets are compared with hmac.compare_digest, never with == or !=."""
    naive = []
    digests = 0
    for path in sorted((ROOT / "serving").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(
                "compare_digest"
            ):
                digests += 1
            if isinstance(node, ast.Compare) and any(
                isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
            ):
                text = ast.unparse(node).lower()
                if any(
                    word in text for word in ("token", "api_key", "secret", "given")
                ):
                    naive.append(
                        f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}"
                    )
    return {
        "compare_digest_calls": digests,
        "naive_secret_comparisons": naive,
        "passed": digests >= 2 and not naive,
    }


def deployment_files() -> dict[str, object]:
    """H2O's port never published; every image ends as a non-root user."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    published = {
        name: [str(port) for port in service.get("ports", [])]
        for name, service in compose["services"].items()
    }
    h2o_published = [
        f"{name}: {port}"
        for name, ports in published.items()
        for port in ports
        if str(_H2O_PORT) in port
    ]
    users = {
        path.name: _final_user(path)
        for path in sorted((ROOT / "deploy").glob("*Dockerfile"))
    }
    root_users = {name: user for name, user in users.items() if _is_root(user)}
    images = {
        name: service.get("image", "")
        for name, service in compose["services"].items()
        if "build" not in service
    }
    privileged_images = {
        name: image for name, image in images.items() if "unprivileged" not in image
    }
    return {
        "published_ports": published,
        "h2o_port_published": h2o_published,
        "dockerfile_users": users,
        "root_users": root_users,
        "prebuilt_images": images,
        "prebuilt_images_not_unprivileged": privileged_images,
        "passed": not h2o_published and not root_users and not privileged_images,
    }


def _final_user(dockerfile: Path) -> str | None:
    """The USER in force at the end of the last stage (None if never set)."""
    user = None
    for line in _instructions(dockerfile):
        keyword, _, argument = line.partition(" ")
        if keyword.upper() == "FROM":
            user = None
        elif keyword.upper() == "USER":
            user = argument.strip()
    return user


def _instructions(dockerfile: Path) -> Iterator[str]:
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""


def _is_root(user: str | None) -> bool:
    if user is None:
        return True
    name = user.split(":")[0]
    return name in {"root", "0"}


def h2o_port_closed(port: int) -> bool:
    """True when nothing accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except OSError:
        return True


def wait_port_closed(port: int, timeout_s: float) -> float | None:
    """Seconds until ``port`` stops accepting connections; None if it never does."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if h2o_port_closed(port):
            return round(time.monotonic() - started, 2)
        time.sleep(0.2)
    return None


def _status(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    **kwargs: object,
) -> int:
    options: dict[str, Any] = dict(kwargs)
    response = httpx.request(method, url, headers=headers, timeout=10, **options)
    return response.status_code


def _cors_headers(base_url: str, origin: str) -> dict[str, str | None]:
    preflight = httpx.options(
        f"{base_url}/predict",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    simple = httpx.get(f"{base_url}/model", headers={"Origin": origin}, timeout=10)
    return {
        "preflight": preflight.headers.get("access-control-allow-origin"),
        "simple": simple.headers.get("access-control-allow-origin"),
    }
