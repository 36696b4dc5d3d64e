"""``python -m store.migrate``: bring the store's schema up to date (Alembic), idempotently. The run
command and the set-up job run it before any process uses the store."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import DatabaseSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

log = logging.getLogger("store.migrate")


def alembic_config(settings: DatabaseSettings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database"] = settings
    return config


def upgrade(settings: DatabaseSettings | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings or DatabaseSettings()), revision)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m store.migrate", description=__doc__)
    parser.add_argument("--revision", default="head")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s store.migrate %(levelname)s: %(message)s")
    settings = DatabaseSettings()
    upgrade(settings, options.revision)
    log.info("store schema at %s", options.revision)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
