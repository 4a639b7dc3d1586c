"""`shop up` / `shop status` on top of supervisord (restarts with backoff, clean stops).

We generate supervisord's config from `processes.programs()`, run it in the foreground, wait
until every HTTP service answers `/health`, then print where everything is. Ctrl-C stops
supervisord, which stops every program (and its children) before exiting.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import xmlrpc.client
from pathlib import Path

from shop.processes import PY, Program, Stack, programs

ROOT = Path(__file__).resolve().parent.parent


def _quote_env(env: dict[str, str]) -> str:
    # supervisord splits this with a non-POSIX shlex: no escapes, so pick a quote the value lacks.
    def q(value: str) -> str:
        value = value.replace("%", "%%")
        quote = "'" if '"' in value else '"'
        if quote in value:
            raise ValueError(f"cannot pass a value with both quote kinds to supervisord: {value!r}")
        return quote + value + quote

    return ",".join(f"{k}={q(v)}" for k, v in env.items())


def render_config(stack: Stack, progs: list[Program]) -> str:
    data, logs = stack.data_dir, stack.data_dir / "logs"
    sections = [
        f"[unix_http_server]\nfile={data}/supervisor.sock\nchmod=0700\n",
        f"[supervisord]\nnodaemon=true\nlogfile={logs}/supervisord.log\npidfile={data}/supervisord.pid\n"
        f"childlogdir={logs}\nloglevel=warn\nsilent=true\n",
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        f"[supervisorctl]\nserverurl=unix://{data}/supervisor.sock\n",
        f"[eventlistener:logmux]\ncommand={PY} -m shop.logmux\nevents=PROCESS_LOG,PROCESS_STATE\n"
        "buffer_size=4096\nresult_handler=shop.logmux:event_handler\npriority=0\n"
        f"stderr_logfile={logs}/logmux.err.log\n",
    ]
    env = stack.shared_env()
    for p in progs:
        sections.append(
            f"[program:{p.name}]\ncommand={shlex.join(p.command).replace('%', '%%')}\n"
            f"directory={ROOT}\npriority={p.priority}\nenvironment={_quote_env({**env, **p.env})}\n"
            "autostart=true\nautorestart=true\nstartsecs=2\nstartretries=10\n"
            "stopsignal=TERM\nstopwaitsecs=10\nstopasgroup=true\nkillasgroup=true\n"
            f"redirect_stderr=true\nstdout_logfile={logs}/{p.name}.log\n"
            "stdout_logfile_maxbytes=20MB\nstdout_logfile_backups=3\nstdout_events_enabled=true\n"
        )
    tiers: dict[int, list[str]] = {}
    for p in progs:
        tiers.setdefault(p.priority, []).append(p.name)
    for priority, names in sorted(tiers.items()):
        # supervisord stops one group at a time, but every process of a group at once: a group
        # per priority tier keeps the start/stop order and stops ~30 processes in a few seconds
        # (one by one it took 25-40 s on 2 cores)
        sections.append(f"[group:tier{priority}]\nprograms={','.join(names)}\npriority={priority}\n")
    return "\n".join(sections)


def write_config(stack: Stack) -> Path:
    (stack.data_dir / "logs").mkdir(parents=True, exist_ok=True)
    progs = programs(stack)
    for metrics in {Path(p.env["PROMETHEUS_MULTIPROC_DIR"]) for p in progs
                    if "PROMETHEUS_MULTIPROC_DIR" in p.env}:
        shutil.rmtree(metrics, ignore_errors=True)  # the last run's processes' counters
        metrics.mkdir(parents=True)
    path = stack.data_dir / "supervisord.conf"
    path.write_text(render_config(stack, progs))
    return path


def _healthy(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def wait_healthy(progs: list[Program], timeout: float) -> list[str]:
    """Names of HTTP programs still not healthy after `timeout` seconds."""
    pending = {p.name: (p.port, p.health_path) for p in progs if p.port is not None}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, (port, path) in list(pending.items()):
            if _healthy(port, path):
                del pending[name]
        time.sleep(0.2)
    return sorted(pending)


def print_urls(stack: Stack, progs: list[Program]) -> None:
    gw = stack.port("gateway")
    lines = [
        "",
        f"  shop is up. Gateway:        http://127.0.0.1:{gw}/",
        f"  Merged API docs:            http://127.0.0.1:{gw}/docs",
    ]
    for p in progs:
        if p.port is not None and p.name not in ("gateway", "dagster-webserver"):
            lines.append(f"  {p.name + ' API docs:':<27} http://127.0.0.1:{p.port}/docs")
    if stack.dagster:
        lines.append(f"  Dagster UI:                 http://127.0.0.1:{stack.dagster_port}/")
    lines += [f"  Redis:                      {stack.effective_redis_url}",
              f"  Data and logs:              {stack.data_dir}",
              "  Status: `shop status`; stop: Ctrl-C", ""]
    print("\n".join(lines), flush=True)


def up(stack: Stack, health_timeout: float = 90.0) -> int:
    if stack.redis_url:
        from services.platform.redis import resolve_redis_url

        resolve_redis_url(stack.redis_url, stack.data_dir)  # fail clearly now, not in every child
    config = write_config(stack)
    progs = programs(stack)
    proc = subprocess.Popen([PY, "-m", "supervisor.supervisord", "-c", str(config)], cwd=ROOT)

    def stop(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    try:
        missing = wait_healthy(progs, health_timeout)
        if proc.poll() is None and "users" not in missing:
            provision_service_accounts()
        if proc.poll() is None:
            if missing:
                print(f"  not healthy yet: {', '.join(missing)} (see {stack.data_dir}/logs)",
                      flush=True)
            print_urls(stack, progs)
        return proc.wait()
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        stop(signal.SIGINT, None)
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            return 1


def provision_service_accounts() -> None:
    """Services that call others on their own behalf (orders: reservations, payments, shipments)
    sign in with an admin service account; outside production `shop up` creates them from the
    services' settings, so a fresh machine works without a manual `shop admin create`."""
    from services.orders.settings import OrdersSettings
    from services.users.app import build_accounts, database
    from services.users.keys import Keyring
    from services.users.settings import UsersSettings

    users = UsersSettings()
    if users.env == "production":
        return
    accounts = build_accounts(users, database(users), Keyring())
    orders = OrdersSettings()
    accounts.create_admin(email=orders.service_email, password=orders.service_password,
                          full_name="orders service")


def rpc(stack: Stack) -> xmlrpc.client.ServerProxy:
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, serverurl=f"unix://{stack.data_dir}/supervisor.sock")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def status(stack: Stack) -> list[dict[str, str]]:
    """One row per program: name, state, pid, uptime and where it listens."""
    ports = {p.name: p.port for p in programs(stack)}
    rows = []
    for info in rpc(stack).supervisor.getAllProcessInfo():
        port = ports.get(info["name"])
        rows.append({
            "name": info["name"],
            "state": info["statename"],
            "pid": str(info["pid"] or "-"),
            "info": info["description"].split(", ", 1)[-1],
            "url": f"http://127.0.0.1:{port}" if port else "-",
        })
    return rows


def stop_stack(stack: Stack) -> None:
    pidfile = stack.data_dir / "supervisord.pid"
    if pidfile.exists():
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(up(Stack.from_env()))
