"""People who sign in to the staff console, and what their role lets them do."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, ForeignKey, Integer, String

from bot.bank.base import Base, Vocabulary, vocabulary_column


class StaffRole(Vocabulary):
    AGENT = "agent"                  # 客服坐席: hand-offs, callbacks, debit-day requests
    BRANCH_STAFF = "branch_staff"    # 网点员工: one branch's bookings, hours and tickets
    KB_EDITOR = "kb_editor"          # 知识库编辑: the answers the bot gives to informational questions
    ADMIN = "admin"                  # 管理员: everything


AGENT_ROLES = (StaffRole.AGENT, StaffRole.ADMIN)
MAX_TEAM = 32    # characters of a team's name (班组)


class Staff(Base):
    """A person who signs in to the staff console (bot/desk).

    Only a bcrypt hash of the password is stored. `session_epoch` is part of
    every signed session cookie: raising it (password reset, account
    disabled) ends that person's sessions on every device at once.
    """

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint(f"role != '{StaffRole.BRANCH_STAFF.value}' OR branch_id IS NOT NULL",
                        name="branch_staff_has_branch"),
    )

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    role = vocabulary_column(StaffRole, "staff_role", 16, nullable=False)
    branch_id = Column(String(32), ForeignKey("branches.id"))
    password_hash = Column(String(128), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    session_epoch = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime(timezone=True), nullable=False)
    last_login_at = Column(DateTime(timezone=True))
    # The agents' team (e.g. 信用卡组); canned replies can be meant for one team.
    team = Column(String(MAX_TEAM))
    # Updated by the console while the person has it open: "is any agent online?"
    last_seen_at = Column(DateTime(timezone=True))
