"""``zapgate`` command line: serve, worker, migrate, admin, check-config."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from zapgate import logging as zlog
from zapgate.container import build_container
from zapgate.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        print(f"zapgate: invalid configuration:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from zapgate import errors

    try:
        result: int = args.func(args)
    except errors.ZapgateError as exc:
        print(f"zapgate: {exc.message}", file=sys.stderr)
        return 1
    return result


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zapgate", description="Self-hosted WhatsApp gateway")
    sub = p.add_subparsers()
    serve = sub.add_parser("serve", help="run the API, dashboard and workers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--no-demo", action="store_true", help="do not create the demo workspace")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.set_defaults(func=_serve)
    worker = sub.add_parser("worker", help="run only the background workers")
    worker.set_defaults(func=_worker)
    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.set_defaults(func=_migrate)
    check = sub.add_parser("check-config", help="validate settings and database access")
    check.set_defaults(func=_check_config)
    admin = sub.add_parser("admin", help="operator commands")
    admin_sub = admin.add_subparsers()
    ct = admin_sub.add_parser("create-tenant", help="create a workspace and its owner")
    ct.add_argument("--name", required=True)
    ct.add_argument("--plan", default="FREE", choices=["FREE", "PAID"])
    ct.add_argument("--email")
    ct.add_argument("--password")
    ct.add_argument("--json", action="store_true")
    ct.set_defaults(func=_create_tenant)
    sp = admin_sub.add_parser("set-plan", help="change a workspace's plan")
    sp.add_argument("--tenant", required=True)
    sp.add_argument("--plan", required=True, choices=["FREE", "PAID"])
    sp.add_argument("--monthly-limit", type=int)
    sp.add_argument("--max-numbers", type=int)
    sp.set_defaults(func=_set_plan)
    cu = admin_sub.add_parser("create-user", help="add a dashboard user to a workspace")
    cu.add_argument("--tenant", required=True)
    cu.add_argument("--email", required=True)
    cu.add_argument("--password", help="at least 10 characters (default: generated, printed)")
    cu.set_defaults(func=_create_user)
    rp = admin_sub.add_parser("reset-password",
                              help="set a user's password and sign them out everywhere")
    rp.add_argument("--email", required=True)
    rp.add_argument("--password", help="at least 10 characters (default: generated, printed)")
    rp.set_defaults(func=_reset_password)
    sim = sub.add_parser("sim", help="run a loopback simulator of a WhatsApp provider",
                         description="Run a provider simulator (tests, demos, benchmarks). Its "
                                     "control API is under /_sim; see the README.")
    sim.add_argument("provider", choices=["meta", "evolution-v2", "evolution-go"])
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, required=True)
    sim.add_argument("--callback", help="where callbacks go: Zapgate's /webhooks/meta for Meta; "
                                        "an extra global webhook URL for Evolution")
    sim.add_argument("--app-secret", default="sim-app-secret",
                     help="Meta: the app secret that signs callbacks")
    sim.add_argument("--api-key", help="Evolution: the global API key (default: sim-...-key)")
    sim.add_argument("--license-required", action="store_true",
                     help="Evolution GO: start behind the license gate (503)")
    sim.set_defaults(func=_sim)
    return p


def _sim(args: argparse.Namespace) -> int:
    from zapgate.sim import common

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("zapgate sim: simulators bind to loopback only", file=sys.stderr)
        return 2
    if args.provider == "meta":
        from zapgate.sim import meta

        app = meta.create_app(callback_url=args.callback, app_secret=args.app_secret)
    elif args.provider == "evolution-v2":
        from zapgate.sim import evolution_v2

        app = evolution_v2.create_app(api_key=args.api_key or "sim-evolution-key",
                                      global_webhook_url=args.callback)
    else:
        from zapgate.sim import evolution_go

        app = evolution_go.create_app(api_key=args.api_key or "sim-evolution-go-key",
                                      global_webhook_url=args.callback,
                                      license_required=args.license_required)
    common.serve(app, host=args.host, port=args.port)
    return 0


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from zapgate.demo import ensure_demo
    from zapgate.web.app import create_app

    settings = _settings()
    zlog.configure(settings.log_level, json_logs=settings.log_json)
    if settings.demo and not args.no_demo:
        info = _run(ensure_demo(settings, host=args.host, port=args.port))
        if info:
            print(info, flush=True)
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level=settings.log_level.lower(),
                access_log=False, lifespan="on")
    return 0


def _worker(_args: argparse.Namespace) -> int:
    from zapgate.workers.build import build_runner

    settings = _settings()
    zlog.configure(settings.log_level, json_logs=settings.log_json)

    async def run() -> None:
        from zapgate.storage import migrate

        container = build_container(settings)
        await migrate.upgrade(container.db)
        await container.start()
        runner = build_runner(container)
        runner.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        import signal

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.stop()
        await container.close()

    _run(run())
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from zapgate.storage import migrate

    async def run() -> str | None:
        container = build_container(_settings())
        try:
            await migrate.upgrade(container.db)
            return await migrate.current_revision(container.db)
        finally:
            await container.close()

    print(f"database at revision {_run(run())}")
    return 0


def _check_config(_args: argparse.Namespace) -> int:
    from zapgate.storage import migrate

    settings = _settings()

    async def run() -> tuple[bool, str | None]:
        container = build_container(settings)
        try:
            await container.db.ping()
            return await migrate.is_current(container.db), await migrate.current_revision(
                container.db)
        finally:
            await container.close()

    try:
        current, revision = _run(run())
    except Exception as exc:
        print(f"database: cannot connect ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    print(f"environment: {settings.environment}")
    print(f"database: ok (revision {revision}{'' if current else ', migrations pending'})")
    print(f"public url: {settings.public_url}")
    print(f"secret key: {'set' if settings.secret_key.get_secret_value() else 'not set (dev)'}")
    print(f"private webhook urls: {'allowed' if settings.allow_private_urls else 'refused'}")
    return 0


def _create_tenant(args: argparse.Namespace) -> int:
    from zapgate.services import tenants
    from zapgate.storage import migrate

    async def run() -> tenants.CreatedTenant:
        container = build_container(_settings())
        try:
            await migrate.upgrade(container.db)
            return await tenants.create_tenant(container, name=args.name, plan=args.plan,
                                               owner_email=args.email,
                                               owner_password=args.password)
        finally:
            await container.close()

    created = _run(run())
    out = {"tenantId": created.tenant_id, "tenantKey": created.tenant_key,
           "ownerEmail": created.owner_email, "ownerPassword": created.owner_password}
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0


def _with_container(fn: Any) -> Any:
    from zapgate.storage import migrate

    async def run() -> Any:
        container = build_container(_settings())
        try:
            await migrate.upgrade(container.db)
            return await fn(container)
        finally:
            await container.close()

    return _run(run())


def _create_user(args: argparse.Namespace) -> int:
    from zapgate.services import users

    email, password = _with_container(lambda c: users.create_user(
        c, workspace_id=args.tenant, email=args.email, password=args.password))
    print(f"email: {email}\npassword: {password}")
    return 0


def _reset_password(args: argparse.Namespace) -> int:
    from zapgate.services import users

    password = _with_container(lambda c: users.reset_password(
        c, email=args.email, password=args.password))
    print(f"email: {args.email.strip().lower()}\npassword: {password}")
    return 0


def _set_plan(args: argparse.Namespace) -> int:
    from zapgate.services import tenants

    async def run() -> None:
        container = build_container(_settings())
        try:
            await tenants.set_plan(container, workspace_id=args.tenant, plan=args.plan,
                                   monthly_limit=args.monthly_limit,
                                   max_numbers=args.max_numbers)
        finally:
            await container.close()

    _run(run())
    print(f"{args.tenant}: plan {args.plan}")
    return 0
