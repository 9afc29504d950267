"""``zoning serve``: the screening service (web pages and a JSON API) on this machine."""
from __future__ import annotations

import os

import click

from zoning.cli._common import CATALOG_OPTION, ENGINE_OPTION, FiniteFloatRange


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default answers this machine only; 0.0.0.0 opens it to the network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port.")
@CATALOG_OPTION
@click.option("--db", default=None, help="History database: an SQLite file path or sqlite:///…, or "
              "postgresql://user:password@host/db. Default: $ZONING_DB, else ./zoning_history.sqlite.")
@click.option("--token", default=None, envvar="ZONING_TOKEN", show_envvar=True,
              help="Require this bearer token (Authorization: Bearer T; the pages ask for it once).")
@click.option("--workers", type=click.IntRange(1, 512), default=None, help="Processes for batch jobs (default: every core).")
@click.option("--api-workers", type=click.IntRange(1, 64), default=None,
              help="Server processes answering requests, each with the layers loaded (default: every core).")
@click.option("--max-upload-mb", type=FiniteFloatRange(0.001, 10_000), default=50.0, show_default=True,
              help="Largest request body (all uploaded files together), MiB.")
@click.option("--max-job-mb", type=FiniteFloatRange(0.001, 100_000), default=1024.0, show_default=True,
              help="Largest upload of a batch job (POST /api/v1/jobs, streamed to disk), MiB.")
@click.option("--max-sites", type=click.IntRange(1), default=1_000, show_default=True,
              help="Most sites per POST /api/v1/screen (batch jobs take up to 200,000).")
@click.option("--tmp-dir", type=click.Path(file_okay=False), default=None,
              help="Folder for uploads and job outputs (a fresh subfolder is made; default: the system temp folder).")
@click.option("--job-stale-s", type=FiniteFloatRange(1, 86_400), default=120.0, show_default=True,
              help="A queued or running batch job whose server has given no sign of life (heartbeat) for this many "
                   "seconds failed with it (its server stopped): it is reported failed. Use the same value on every "
                   "server sharing one database.")
@ENGINE_OPTION
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
def serve_cmd(host, port, catalog, db, token, workers, api_workers, max_upload_mb, max_job_mb, max_sites, tmp_dir,
              job_stale_s, engine, log_level):
    """Serve the screening pages and the JSON API (http://HOST:PORT/, API docs at /docs).

    Before anything listens it checks, once, what every server process needs: the port is free,
    the catalog, its layers and the rule pack load, the history database opens. A failure is one
    line and exit code 2 (and a new ./zoning_history.sqlite is not left behind)."""
    from zoning.cli._common import raw_terminal
    from zoning.render.maps import basemaps_from_env

    raw_terminal()  # uvicorn draws its own log colours; request data reaches its log percent-encoded
    from zoning.engines.pool import default_workers
    from zoning.service import Limits, Settings, serve
    from zoning.service.app import preflight

    limits = Limits(max_upload_bytes=int(max_upload_mb * 1024 * 1024),
                    max_job_upload_bytes=int(max_job_mb * 1024 * 1024), max_sites=max_sites)
    settings = Settings(catalog=catalog, db=db, token=token or None, limits=limits, workers=workers,
                        tmp_dir=tmp_dir, engine=engine, basemaps=basemaps_from_env(),
                        api_workers=api_workers or default_workers(), job_stale_s=job_stale_s)
    prepared = preflight(settings, host=host, port=port)  # one line and exit 2 on failure, nothing started
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        click.echo(f"注意：服务对 {host} 开放且未设置令牌 / note: listening on {host} without --token", err=True)
    click.echo(f"zoning serve: http://{host}:{port}/ (API docs /docs; pid {os.getpid()})", err=True)
    serve(settings, host=host, port=port, log_level=log_level, prepared=prepared)
