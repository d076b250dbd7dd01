import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


#: The PostgreSQL advisory lock every caseflow migration holds while it runs, so that two
#: deploys (or two `caseflow db upgrade`s) never upgrade at once: the second waits, then
#: finds the schema at head and has nothing to do. The key is the ASCII bytes of
#: "caseflow" read as one 64-bit integer (0x63617365666c6f77); a monitor sees it in
#: pg_locks as locktype 'advisory', classid 1667330917, objid 1718382455.
MIGRATION_LOCK_KEY = int.from_bytes(b"caseflow", "big")  # 7161131761843072887


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        postgresql = connection.dialect.name == "postgresql"
        if sqlite:
            # SQLite changes a table by copying it; with foreign keys enforced, dropping the
            # old copy would fail. Switch enforcement off for the migration (it can only be
            # switched outside a transaction), and check every key before switching it on.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        if postgresql:
            take_migration_lock(connection)
        try:
            context.configure(
                connection=connection,
                target_metadata=get_metadata(),
                **conf_args
            )

            # The current revision is read inside, after the lock: a second upgrade that
            # waited sees what the first one did.
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if problems:
                        raise RuntimeError(f"foreign keys broken by the migration: {problems[:5]}")
        finally:
            if postgresql:
                release_migration_lock(connection)
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def take_migration_lock(connection):
    """Hold MIGRATION_LOCK_KEY (a session-level lock: it outlives the transactions and
    ends with the connection at the latest), waiting for another migration if need be."""
    got = connection.exec_driver_sql(
        f"SELECT pg_try_advisory_lock({MIGRATION_LOCK_KEY})").scalar()
    if not got:
        logger.info("Another caseflow migration is running (advisory lock %d); waiting for it.",
                    MIGRATION_LOCK_KEY)
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
    # Ends the transaction these statements began, so that the migration begins its own.
    connection.commit()


def release_migration_lock(connection):
    # Explicitly, not by closing: the connection goes back to a pool, still open.
    if connection.in_transaction():
        connection.rollback()  # a failed migration; its transaction is already aborted
    connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
    connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
