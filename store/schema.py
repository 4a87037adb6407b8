"""The database's tables, on one MetaData: a page of documentation for what a lab keeps."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# One row: the schema version this database has been migrated to.
schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

# A learner's lab: found by its secret id (in the address bar) or its short resume code.
labs = Table(
    "labs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    # Unix time of the last visit or write; labs untouched for the retention period are deleted.
    Column("touched_at", Float, nullable=False),
    # The run whose weights answer on the Draw page; None for the bundled model.
    Column("active_run", String(64)),
)

# One training run of a lab: settings, curves, the latest weights and what Continue needs.
runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("lab_id", String(64), ForeignKey("labs.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("config", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text),
    # Every epoch so far as JSON: [[epoch, loss, accuracy, val_loss, val_accuracy], ...].
    Column("history", Text, nullable=False),
    Column("test_accuracy", Float),
    Column("weights", LargeBinary),
    Column("optimizer_state", LargeBinary),
    Column("keras_file", LargeBinary),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("runs_by_lab", runs.c.lab_id, runs.c.number, unique=True)
# The daily clean-up looks for labs untouched, and runs unwritten, since a cutoff (version 2).
Index("runs_by_update", runs.c.updated_at)
Index("labs_by_touch", labs.c.touched_at)

# A drawing the learner chose to keep: the network's 20×20 input, and the digit they meant.
drawings = Table(
    "drawings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lab_id", String(64), ForeignKey("labs.id", ondelete="CASCADE"), nullable=False),
    Column("label", Integer),
    Column("pixels", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
)
Index("drawings_by_lab", drawings.c.lab_id)

# Wrong resume codes by client, so that codes cannot be guessed one after another.
code_attempts = Table(
    "code_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", String(128), nullable=False),
    Column("at", Float, nullable=False),
)
Index("code_attempts_by_client", code_attempts.c.client, code_attempts.c.at)
