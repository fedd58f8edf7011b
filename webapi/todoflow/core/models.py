"""The schema: SQLAlchemy 2 typed models, the single source of truth that Alembic migrates."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from todoflow.core.recurrence import RECURRENCE_TYPES

MAX_INTERVAL = 52
_RECURRENCE_TYPES_SQL = ", ".join(f"'{kind}'" for kind in RECURRENCE_TYPES)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (so migrations can drop them)."""

    metadata = MetaData(naming_convention=NAMING)


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))


def _identity_pk() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(), primary_key=True)


def _owner_id(**column: Any) -> Mapped[uuid.UUID]:
    """The owning user's id: deleting the user deletes the row (column: nullable/index/primary_key options)."""
    return mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), **column)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=text("now()"))


class User(Base):
    """An account; owns everything else."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = _uuid_pk()
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, server_default="UTC")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)


class Priority(Base):
    """Priority levels (seeded: low, medium, high, urgent)."""

    __tablename__ = "priorities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    level: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)


class RecurringTask(Base):
    """A recurrence rule that the expansion job turns into task instances."""

    __tablename__ = "recurring_tasks"

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = _owner_id(nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    priority_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("priorities.id"), nullable=True)
    recurrence_type: Mapped[str] = mapped_column(String(20), nullable=False)
    recurrence_interval: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    next_due_at: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    # Index n of next_due_at in the series anchored at start_date: occurrence n is always
    # computed from the anchor, never from the previous occurrence, so month ends never drift.
    next_index: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    # Issue 13: an RFC 5545 RRULE (normalised; core/rrule.py) for rule-based series, NULL for the seed's types
    # (recurrence_type/interval then hold the rule's FREQ and INTERVAL); and what the next due date counts from.
    rrule: Mapped[str | None] = mapped_column(Text, nullable=True)
    repeat_from: Mapped[str] = mapped_column(String(10), nullable=False, server_default="due")

    __table_args__ = (
        CheckConstraint("repeat_from IN ('due', 'completion')", name="repeat_from_known"),
        CheckConstraint("rrule IS NULL OR length(rrule) <= 500", name="rrule_length"),
        CheckConstraint(f"recurrence_type IN ({_RECURRENCE_TYPES_SQL})", name="recurrence_type_known"),
        CheckConstraint(f"recurrence_interval BETWEEN 1 AND {MAX_INTERVAL}", name="interval_range"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint("next_index >= 0", name="next_index_nonnegative"),
        CheckConstraint("next_due_at >= start_date", name="next_due_after_start"),
        Index("ix_recurring_tasks_user_id_next_due_at", "user_id", "next_due_at"),
        Index("ix_recurring_tasks_user_id_is_active", "user_id", "is_active"),
        # The expansion job scans active series that are due.
        Index("ix_recurring_tasks_due_active", "next_due_at", postgresql_where=text("is_active")),
    )


class Task(Base):
    """A task; deletion is soft (deleted_at) so history and series bookkeeping survive it."""

    __tablename__ = "tasks"

    id: Mapped[int] = _identity_pk()
    user_id: Mapped[uuid.UUID] = _owner_id(nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    priority_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("priorities.id"), nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    completed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    is_recurring: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    recurrence_pattern: Mapped[str | None] = mapped_column(String(100), nullable=True)  # seed's legacy column
    notified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    recurring_task_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("recurring_tasks.id", ondelete="SET NULL"), nullable=True
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    __table_args__ = (
        UniqueConstraint("recurring_task_id", "due_date", name="uq_tasks_recurring_task_id_due_date"),
        CheckConstraint("completed = (completed_at IS NOT NULL)", name="completed_has_timestamp"),
        # Cursor pages (api/pagination.py): one index range per sort, ties broken by id.
        Index("ix_tasks_user_id_due_date_id", "user_id", "due_date", "id"),
        Index("ix_tasks_user_id_created_at_id", "user_id", "created_at", "id"),
        Index("ix_tasks_user_id_priority_id_id", "user_id", "priority_id", "id"),
        # The open-tasks quota counts a user's open tasks.
        Index("ix_tasks_user_id_open", "user_id", postgresql_where=text("NOT completed AND deleted_at IS NULL")),
        # The due sweep reads only open, not-yet-notified tasks with a due date.
        Index(
            "ix_tasks_sweep_open_unnotified",
            "due_date",
            postgresql_where=text("NOT completed AND NOT notified AND deleted_at IS NULL AND due_date IS NOT NULL"),
        ),
    )


class TaskEventLog(Base):
    """The task history written from Kafka; no foreign key so it outlives its task."""

    __tablename__ = "task_event_log"

    id: Mapped[uuid.UUID] = _uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, unique=True)
    task_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    event_type: Mapped[str] = mapped_column(String(50), nullable=False)
    event_data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    event_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        Index("ix_task_event_log_task_id_created_at", "task_id", "created_at"),
        Index("ix_task_event_log_event_type_created_at", "event_type", "created_at"),
    )


class EventOutbox(Base):
    """Events written in the same transaction as the change; the relay publishes them to Kafka."""

    __tablename__ = "event_outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, unique=True)
    topic: Mapped[str] = mapped_column(String(100), nullable=False)
    message_key: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # The writing transaction's id: with pg_snapshot_xmin it lets the relay read in commit-safe order.
    # txid_current(): the same 64-bit value as pg_current_xact_id(), without a text round trip per row.
    txid: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("txid_current()"))
    created_at: Mapped[datetime] = _created()
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_event_outbox_unpublished", "txid", "id", postgresql_where=text("published_at IS NULL")),
        Index("ix_event_outbox_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
    )


class Notification(Base):
    """The in-app inbox that the due sweep fills."""

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = _owner_id(nullable=False)
    # Null for notices about no task (a webhook the delivery service deactivated).
    task_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(50), nullable=False, server_default="task-due-soon")
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = _created()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        # One reminder per task and due date, however many sweeps overlap or rerun.
        UniqueConstraint("task_id", "kind", "due_date", name="uq_notifications_task_kind_due"),
        Index("ix_notifications_user_id_created_at_id", "user_id", "created_at", "id"),
    )


class RevokedToken(Base):
    """JWTs revoked by logout; rows past their expiry can be purged."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = _owner_id(nullable=False)
    token_type: Mapped[str] = mapped_column(String(16), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    revoked_at: Mapped[datetime] = _created()


class LoginFailure(Base):
    """Failed logins, counted per email to rate-limit guessing across all API workers."""

    __tablename__ = "login_failures"

    id: Mapped[int] = _identity_pk()
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    remote_addr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempted_at: Mapped[datetime] = _created()

    __table_args__ = (
        Index("ix_login_failures_email_attempted_at", "email", "attempted_at"),
        # The per-address limit counts one client address's failures over every email.
        Index("ix_login_failures_remote_addr_attempted_at", "remote_addr", "attempted_at"),
    )


class ConsumedEvent(Base):
    """Event ids a consumer group has already processed, written in the same transaction as the work."""

    __tablename__ = "consumed_events"

    consumer_group: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    consumed_at: Mapped[datetime] = _created()

    __table_args__ = (Index("ix_consumed_events_consumed_at", "consumed_at"),)


class QualityResult(Base):
    """One check's outcome in one run of the schedule data-quality suite."""

    __tablename__ = "quality_results"

    id: Mapped[int] = _identity_pk()
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    check_name: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    success: Mapped[bool] = mapped_column(Boolean, nullable=False)
    unexpected_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sample: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    checked_at: Mapped[datetime] = _created()

    __table_args__ = (
        Index("ix_quality_results_run_id", "run_id"),
        Index("ix_quality_results_check_name_checked_at", "check_name", "checked_at"),
    )


DELIVERY_STATES = ("pending", "delivered", "failed")
DELIVERY_CHANNELS = ("webhook", "email")


class Webhook(Base):
    """A user's HTTPS endpoint that receives signed task events."""

    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = _owner_id(nullable=False, index=True)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    events: Mapped[list[str]] = mapped_column(ARRAY(String(50)), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, server_default="")
    # The HMAC key: it must be readable to sign, so it is stored as is and shown to its owner only once.
    secret: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    deactivated_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    __table_args__ = (CheckConstraint("cardinality(events) >= 1", name="has_events"),)


class Delivery(Base):
    """One event towards one endpoint (a webhook or the owner's email): its schedule, attempts and outcome."""

    __tablename__ = "deliveries"

    # The delivery id the receiver sees (X-Todoflow-Delivery), the same on every retry.
    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = _owner_id(nullable=False)
    webhook_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=True
    )
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    # 'webhook:<id>' or 'email': with event_id the unique key that makes one delivery per (event, endpoint).
    endpoint: Mapped[str] = mapped_column(String(100), nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    event_type: Mapped[str] = mapped_column(String(50), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, server_default=text("now()")
    )
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = _created()
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    dead_lettered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        UniqueConstraint("event_id", "endpoint", name="uq_deliveries_event_id_endpoint"),
        CheckConstraint("state IN ('pending', 'delivered', 'failed')", name="state_known"),
        CheckConstraint("channel IN ('webhook', 'email')", name="channel_known"),
        CheckConstraint("(state = 'pending') = (next_attempt_at IS NOT NULL)", name="pending_has_schedule"),
        # Workers claim due pending attempts in schedule order.
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
        Index("ix_deliveries_webhook_id_created_at_id", "webhook_id", "created_at", "id"),
        Index("ix_deliveries_user_id", "user_id"),
        # Failed deliveries not yet on the dead-letter topic.
        Index(
            "ix_deliveries_dead_letter_due",
            "failed_at",
            postgresql_where=text("state = 'failed' AND dead_lettered_at IS NULL"),
        ),
    )


class NotificationSettings(Base):
    """A user's delivery preferences; no row means the defaults (everything on)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[uuid.UUID] = _owner_id(primary_key=True)
    email_reminders: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    webhook_reminders: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    updated_at: Mapped[datetime] = _created()


class WriteBucket(Base):
    """A user's write-rate token bucket, shared by every API worker and replica (api/write_limit.py)."""

    __tablename__ = "write_buckets"

    user_id: Mapped[uuid.UUID] = _owner_id(primary_key=True)
    tokens: Mapped[float] = mapped_column(Float, nullable=False)
    refilled_at: Mapped[datetime] = _created()
