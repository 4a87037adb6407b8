"""The database's tables, on one MetaData: a page of documentation for what a lab keeps."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
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

# A teacher's class (version 3): students join with its code; the teacher acts with a secret
# key whose sha256 alone is kept, so a copy of the database cannot act as the teacher.
classes = Table(
    "classes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("join_code", String(8), nullable=False, unique=True),
    Column("teacher_key_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("touched_at", Float, nullable=False),
    Column("joining_open", Boolean, nullable=False, default=True),
    Column("challenge", String(32), nullable=False),
    # A Train-page query string (e.g. "hide=dataset&units=25"), never a whole address.
    Column("train_link", Text),
    # Incremented whenever the approved class set changes: scores of older versions are stale.
    Column("set_version", Integer, nullable=False, default=0),
)
Index("classes_by_touch", classes.c.touched_at)

# A student in a class: one lab is in at most one class.
class_members = Table(
    "class_members",
    metadata,
    Column("lab_id", String(64), ForeignKey("labs.id", ondelete="CASCADE"), primary_key=True),
    Column("class_id", String(64), ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
    Column("nickname", String(24), nullable=False),
    # The nickname casefolded (which can triple its length, "ΐ" → 3 characters) and with
    # single spaces: "Ana  Lee" and "ana lee" are the same student to the class.
    Column("nickname_key", String(72), nullable=False),
    Column("share_runs", Boolean, nullable=False, default=True),
    Column("joined_at", Float, nullable=False),
)
Index(
    "class_members_by_nickname",
    class_members.c.class_id,
    class_members.c.nickname_key,
    unique=True,
)

# A class drawing's status: the teacher approves it into the class set, or rejects it.
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"

# A drawing a student gave the class: raw float32 bytes of the 20×20 input, decoded at once.
class_drawings = Table(
    "class_drawings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("class_id", String(64), ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
    Column("lab_id", String(64), ForeignKey("labs.id", ondelete="CASCADE"), nullable=False),
    Column("label", Integer, nullable=False),
    Column("pixels", LargeBinary, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("submitted_at", Float, nullable=False),
)
Index(
    "class_drawings_by_digest",
    class_drawings.c.class_id,
    class_drawings.c.lab_id,
    class_drawings.c.digest,
    unique=True,
)
Index("class_drawings_by_status", class_drawings.c.class_id, class_drawings.c.status)
# Deleting a lab deletes its class drawings: found by lab without scanning every class's.
Index("class_drawings_by_lab", class_drawings.c.lab_id)

# Each shared run's accuracy on the class set, computed once per version of that set.
class_scores = Table(
    "class_scores",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("class_id", String(64), ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
    Column("set_version", Integer, nullable=False),
    Column("accuracy", Float, nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("run_id", "class_id"),
)
Index("class_scores_by_class", class_scores.c.class_id)
