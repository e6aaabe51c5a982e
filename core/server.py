"""The gRPC server: envoi's services, health checking, reflection, auth,
graceful shutdown, and several worker processes sharing one port.

It is a grpc.aio server, so that an open WatchEvents stream costs a
subscription on the event loop, not a thread. The unary services stay
synchronous and run on a thread pool of ENVOI_GRPC_THREADS threads.
"""

import asyncio
import dataclasses
import logging
import multiprocessing
import os
import signal
import threading
from concurrent import futures

import grpc
import psycopg_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from envoi.core import observability, startup, tls
from envoi.core.api.account_service import AccountService
from envoi.core.api.api_key_service import ApiKeyService
from envoi.core.api.collection_service import CollectionService
from envoi.core.api.event_service import EventService
from envoi.core.api.event_wakeups import EventWakeups
from envoi.core.api.funding_service import FundingService
from envoi.core.api.payment_request_service import PaymentRequestService
from envoi.core.api.payout_service import PayoutService
from envoi.core.api.transfer_service import TransferService
from envoi.core.api.webhook_service import WebhookService
from envoi.core.auth.interceptor import AuthInterceptor
from envoi.core.config import Settings
from envoi.core.ledger import accounts, refusals
from envoi.core.ledger.group_commit import GroupCommit
from envoi.core.maintenance import MaintenanceThread
from envoi.core.observability import db_metrics, metrics_server, pool_metrics, tracing
from envoi.core.observability.rpc_metrics import MetricsInterceptor
from envoi.core.runtime import Runtime, open_pool
from envoi.v1 import (
    account_service_pb2,
    account_service_pb2_grpc,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    collection_service_pb2,
    collection_service_pb2_grpc,
    event_service_pb2,
    event_service_pb2_grpc,
    funding_service_pb2,
    funding_service_pb2_grpc,
    payment_request_service_pb2,
    payment_request_service_pb2_grpc,
    payout_service_pb2,
    payout_service_pb2_grpc,
    transfer_service_pb2,
    transfer_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)

log = logging.getLogger("envoi.server")

SERVICE_NAMES = (
    account_service_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name,
    transfer_service_pb2.DESCRIPTOR.services_by_name["TransferService"].full_name,
    event_service_pb2.DESCRIPTOR.services_by_name["EventService"].full_name,
    funding_service_pb2.DESCRIPTOR.services_by_name["FundingService"].full_name,
    payout_service_pb2.DESCRIPTOR.services_by_name["PayoutService"].full_name,
    payment_request_service_pb2.DESCRIPTOR.services_by_name["PaymentRequestService"].full_name,
    api_key_service_pb2.DESCRIPTOR.services_by_name["ApiKeyService"].full_name,
    collection_service_pb2.DESCRIPTOR.services_by_name["CollectionService"].full_name,
    webhook_service_pb2.DESCRIPTOR.services_by_name["WebhookService"].full_name,
)


async def add_services(
    server: grpc.aio.Server, runtime: Runtime, wakeups: EventWakeups, ledger: GroupCommit
) -> health.aio.HealthServicer:
    """Register envoi's services, health and reflection on a server; return the health servicer."""
    account_service_pb2_grpc.add_AccountServiceServicer_to_server(AccountService(runtime), server)
    transfer_service_pb2_grpc.add_TransferServiceServicer_to_server(
        TransferService(runtime, ledger), server
    )
    event_service_pb2_grpc.add_EventServiceServicer_to_server(
        EventService(runtime, wakeups), server
    )
    funding_service_pb2_grpc.add_FundingServiceServicer_to_server(FundingService(runtime), server)
    payout_service_pb2_grpc.add_PayoutServiceServicer_to_server(PayoutService(runtime), server)
    payment_request_service_pb2_grpc.add_PaymentRequestServiceServicer_to_server(
        PaymentRequestService(runtime), server
    )
    api_key_service_pb2_grpc.add_ApiKeyServiceServicer_to_server(ApiKeyService(runtime), server)
    collection_service_pb2_grpc.add_CollectionServiceServicer_to_server(
        CollectionService(runtime), server
    )
    webhook_service_pb2_grpc.add_WebhookServiceServicer_to_server(WebhookService(runtime), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *SERVICE_NAMES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return health_servicer


@dataclasses.dataclass
class RunningServer:
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    wakeups: EventWakeups
    ledger: GroupCommit
    port: int

    async def stop(self, grace_s: float) -> None:
        """NOT_SERVING, end the streams, then give unary calls in flight grace_s to finish."""
        await self.health.enter_graceful_shutdown()
        # A stream never ends by itself: end each now with UNAVAILABLE (its
        # client resumes elsewhere from its last event), so that the grace
        # period is for the calls that do finish.
        await self.wakeups.close()
        await self.server.stop(grace_s)
        await self.ledger.pool.close()


async def start_server(runtime: Runtime, listen: str, interceptors=None) -> RunningServer:
    """Serve envoi on `listen` from the running event loop; interceptors default to
    the RPC metrics (outermost, so refusals count) and auth."""
    # The synchronous services, the token lookups and the database reads of
    # streams run here (asyncio.to_thread); grpc's own pool is the same.
    executor = futures.ThreadPoolExecutor(
        runtime.settings.grpc_threads, thread_name_prefix="envoi-rpc"
    )
    asyncio.get_running_loop().set_default_executor(executor)
    if interceptors is None:
        interceptors = [
            MetricsInterceptor(),
            AuthInterceptor(runtime.pool, runtime.settings.token_cache_s),
        ]
    wakeups = EventWakeups(runtime.pool, runtime.settings.event_recheck_s)
    await wakeups.start()
    ledger_pool = await open_async_pool(runtime)
    try:
        server = grpc.aio.server(
            migration_thread_pool=executor,
            interceptors=interceptors,
            # A batch of 8,000 transfers with long memos is over gRPC's default 4 MiB.
            options=[("grpc.so_reuseport", 1), ("grpc.max_receive_message_length", 16 << 20)],
        )
        settings = runtime.settings
        ledger = GroupCommit(ledger_pool, refusals.rules(settings), settings.group_commit_in_flight)
        health_servicer = await add_services(server, runtime, wakeups, ledger)
        if settings.tls_cert_file:
            port = server.add_secure_port(
                listen,
                tls.server_credentials(
                    settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file
                ),
            )
        else:
            port = server.add_insecure_port(listen)
        await server.start()
    except BaseException:
        await wakeups.close()  # its listening connection and tasks
        await ledger_pool.close()
        raise
    return RunningServer(server, health_servicer, wakeups, ledger, port)


async def open_async_pool(runtime: Runtime) -> psycopg_pool.AsyncConnectionPool:
    """The pool of the async services (the core transfer path), to the same database
    as the runtime's: autocommit, one statement a transaction."""
    pool = psycopg_pool.AsyncConnectionPool(
        runtime.pool.conninfo,
        min_size=1,
        max_size=runtime.settings.db_pool_size,
        open=False,
        kwargs={"autocommit": True},
        timeout=10.0,
    )
    await pool.open(wait=True, timeout=30.0)
    return pool


def load_payment_providers(env=os.environ) -> dict:
    """Runtime's funding_providers and payout_providers, from the enabled provider
    plugins (entry point group envoi.providers, limited by ENVOI_PROVIDERS)."""
    from envoi import plugins

    manager = plugins.plugin_manager(env, plugins.PROVIDER_ENTRY_POINT_GROUP)
    providers = {
        "funding_providers": plugins.load_funding_providers(env, manager),
        "payout_providers": plugins.load_payout_providers(env, manager),
    }
    for kind, loaded in providers.items():
        if loaded:
            log.info("%s: %s", kind.replace("_", " "), ", ".join(sorted(loaded)))
        if "sandbox" in loaded:
            log.warning("the sandbox provider is enabled: its test cards create money")
    return providers


def prepare_database(database_url: str, settings: Settings) -> None:
    """As the tables' owner: migrate, then make the system accounts."""
    startup.migrate(database_url)
    ensure_system_accounts(database_url, settings)


def ensure_system_accounts(database_url: str, settings: Settings) -> None:
    pool = open_pool(database_url, 1)
    try:
        with pool.connection() as conn, conn.transaction():
            accounts.ensure_system_accounts(conn, settings.currencies)
    finally:
        pool.close()


def run_worker(settings: Settings, database_url: str, code_key: bytes) -> None:
    """Serve until SIGTERM or SIGINT, then finish in-flight RPCs and exit."""
    observability.setup_process(
        "envoi-serve"
    )  # again in a spawned worker: logs and traces are per process
    runtime = Runtime(
        settings,
        open_pool(database_url, settings.db_pool_size),
        code_key,
        **load_payment_providers(),
    )
    try:
        asyncio.run(_serve_until_stopped(runtime))
    finally:
        runtime.pool.close()
        tracing.shutdown()
    log.info("stopped")


async def _serve_until_stopped(runtime: Runtime) -> None:
    settings = runtime.settings
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop_requested.set)
    running = await start_server(runtime, settings.listen)
    maintenance = MaintenanceThread(runtime)
    maintenance.start()
    pools = {"services": runtime.pool, "ledger": running.ledger.pool}
    sampling = asyncio.create_task(pool_metrics.sample_forever(pools))
    security = (
        "mutual TLS"
        if settings.tls_client_ca_file
        else "TLS"
        if settings.tls_cert_file
        else "plaintext"
    )
    log.info("serving gRPC on %s (%s)", settings.listen, security)
    await stop_requested.wait()
    log.info("shutting down: NOT_SERVING, %.0f s for in-flight RPCs", settings.shutdown_grace_s)
    sampling.cancel()
    await running.stop(settings.shutdown_grace_s)
    await asyncio.to_thread(maintenance.stop)


def serve(settings: Settings, companion=None) -> None:
    """Serve until SIGTERM. `companion(urls)`, if given, starts something to run
    beside the server (the channel gateway's process) and returns its stop function."""
    observability.setup_process("envoi-serve")
    code_key = startup.code_key(settings)
    urls = startup.server_database(settings)
    ensure_system_accounts(urls.server, settings)
    stop_metrics = serve_metrics(settings, urls.server)
    try:
        stop_companion = companion(urls) if companion else None
        try:
            _serve_workers(settings, urls.server, code_key)
        finally:
            if stop_companion:
                stop_companion()
    finally:
        stop_metrics()
    del urls


def serve_metrics(settings: Settings, database_url: str):
    """Serve the metrics on ENVOI_METRICS_LISTEN (all the workers' on one address);
    return the function that stops serving them."""
    registry, forget_workers = None, lambda: None
    if settings.workers > 1 and metrics_server.listen_address("ENVOI_METRICS_LISTEN"):
        registry, forget_workers = metrics_server.start_multiprocess()
    stop_http = observability.serve_metrics(
        "ENVOI_METRICS_LISTEN", database_url, [db_metrics.transfers], registry
    )

    def stop():
        stop_http()
        forget_workers()

    return stop


def _serve_workers(settings: Settings, database_url: str, code_key: bytes) -> None:
    if settings.workers == 1:
        run_worker(settings, database_url, code_key)
        return
    # Each worker is a fresh process (spawn): gRPC must not be forked after
    # it started, and each binds the same port with SO_REUSEPORT.
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=run_worker, args=(settings, database_url, code_key), name=f"envoi-worker-{n}"
        )
        for n in range(settings.workers)
    ]
    # Handlers first, so a SIGTERM during start-up still stops the workers.
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())
    for worker in workers:
        worker.start()
    worker_exited = False
    while not stop_requested.wait(0.5):
        if not all(worker.is_alive() for worker in workers):
            log.error("a worker exited; stopping the others")
            worker_exited = True
            break
    for worker in workers:
        if worker.is_alive():
            worker.terminate()  # SIGTERM: the worker shuts down gracefully
    for worker in workers:
        worker.join()
    if worker_exited:  # a failure, not a requested stop: exit non-zero so a supervisor restarts
        raise SystemExit(
            "envoi: a worker exited unexpectedly (exit codes: "
            + ", ".join(str(worker.exitcode) for worker in workers)
            + ")"
        )
