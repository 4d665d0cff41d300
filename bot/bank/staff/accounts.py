"""Staff accounts: who may sign in to the staff console, and as what.

Three roles. A customer-service agent (客服坐席) answers the phone and the
chat for every branch, so sees all bookings, read-only. Branch staff (网点员工)
run one branch: its bookings and check-ins, its dated hours, notices and
tickets. An admin (管理员) does all of that for every branch and manages the
accounts.

Passwords are stored only as bcrypt hashes. An unknown username costs the
same bcrypt check as a wrong password, so response times do not reveal
which usernames exist.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import List, Optional, Tuple

import bcrypt
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.bank.hours.models import Branch
from bot.bank.refusals import Refusal
from bot.bank.staff.models import MAX_TEAM, Staff, StaffRole
from bot.clock import local
from bot.settings import settings

AGENT, BRANCH_STAFF, ADMIN = StaffRole.AGENT, StaffRole.BRANCH_STAFF, StaffRole.ADMIN
ROLE_LABELS = {AGENT: "客服坐席", BRANCH_STAFF: "网点员工", StaffRole.KB_EDITOR: "知识库编辑", ADMIN: "管理员"}
MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 72        # bcrypt ignores everything after 72 bytes
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nothing to misread


@dataclass(frozen=True)
class StaffView:
    id: int
    username: str
    display_name: str
    role: str
    branch_id: Optional[str]
    branch_name: str
    active: bool
    session_epoch: int
    last_login_at: Optional[datetime]
    team: str = ""

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def all_branches(self) -> bool:
        """Agents and admins work across branches; branch staff in one."""
        return self.role != BRANCH_STAFF


def bcrypt_rounds() -> int:
    """Cost 12 by default; tests lower it with `DESK_BCRYPT_ROUNDS`."""
    return settings().desk_bcrypt_rounds


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=bcrypt_rounds())).decode()


def password_matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # a malformed hash in the table: treat as no match
        return False


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def generate_password(length: int = 12) -> str:
    """A random password with letters and digits, so it passes our own rule."""
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if not (password.isalpha() or password.isdigit()):
            return password


def check_new_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise Refusal("invalid", f"密码至少 {MIN_PASSWORD} 位。")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise Refusal("invalid", "密码太长了，请控制在 72 个字节以内（约 24 个汉字或 72 个字母数字）。")
    if password.isdigit() or password.isalpha():
        raise Refusal("invalid", "密码请同时包含字母和数字。")
    return password


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def _view(staff: Staff, branch_name: str = "") -> StaffView:
    return StaffView(staff.id, staff.username, staff.display_name, staff.role, staff.branch_id, branch_name,
                     staff.active, staff.session_epoch, local(staff.last_login_at), staff.team or "")


def _branch_name(session: Session, branch_id: Optional[str]) -> str:
    branch = session.get(Branch, branch_id) if branch_id else None
    return branch.name if branch else ""


def create_staff(session: Session, *, username: str, display_name: str, role: str, password: str,
                 when: datetime, branch_id: Optional[str] = None, team: str = "") -> StaffView:
    """A new account. Branch staff must have a branch; others have none. An
    agent may belong to a team (班组), whose canned replies they get."""
    username = normalise_username(username)
    if not USERNAME.match(username):
        raise Refusal("invalid", "用户名请用 2 到 32 位小写字母、数字、点、横线或下划线，以字母或数字开头。")
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 64:
        raise Refusal("invalid", "请填写姓名（64 字以内）。")
    if role not in ROLE_LABELS:
        raise Refusal("invalid", "请选择角色。")
    if role == BRANCH_STAFF:
        if not branch_id or session.get(Branch, branch_id) is None:
            raise Refusal("invalid", "网点员工要选所属网点。")
    else:
        branch_id = None
    team = (team or "").strip()
    if len(team) > MAX_TEAM:
        raise Refusal("invalid", f"班组名称请控制在 {MAX_TEAM} 字以内。")
    check_new_password(password)
    if session.execute(select(Staff.id).where(Staff.username == username)).first():
        raise Refusal("invalid", f"用户名 {username} 已经有人用了。")
    staff = Staff(username=username, display_name=display_name, role=role, branch_id=branch_id,
                  password_hash=hash_password(password), active=True, session_epoch=0, created_at=when,
                  team=team or None)
    session.add(staff)
    session.flush()
    return _view(staff, _branch_name(session, branch_id))


def authenticate(session: Session, username: str, password: str, when: datetime) -> Optional[StaffView]:
    """The account when the password is right and the account is active."""
    staff = session.execute(
        select(Staff).where(Staff.username == normalise_username(username))
    ).scalar_one_or_none()
    if staff is None or not password:
        password_matches(password or "x", _decoy_hash())  # same cost as a real check
        return None
    if not password_matches(password, staff.password_hash) or not staff.active:
        return None
    staff.last_login_at = when
    return _view(staff, _branch_name(session, staff.branch_id))


def staff_for_session(session: Session, staff_id: int, epoch: int) -> Optional[StaffView]:
    """The signed-in person, unless the account was disabled or its password
    reset since the session began."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.session_epoch != epoch:
        return None
    return _view(staff, _branch_name(session, staff.branch_id))


def list_staff(session: Session) -> List[StaffView]:
    names = {branch.id: branch.name for branch in session.execute(select(Branch)).scalars()}
    rows = session.execute(select(Staff).order_by(Staff.active.desc(), Staff.role, Staff.username)).scalars()
    return [_view(staff, names.get(staff.branch_id, "")) for staff in rows]


def _account(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise Refusal("not_found", "没有这个账号。")
    return staff


def _other_active_admins(session: Session, staff_id: int) -> int:
    return session.execute(
        select(func.count(Staff.id)).where(Staff.role == ADMIN, Staff.active.is_(True), Staff.id != staff_id)
    ).scalar_one()


def set_active(session: Session, staff_id: int, active: bool, acting_id: int) -> StaffView:
    """Enable or disable an account; disabling ends its sessions. Nobody can
    lock themselves out, and the last admin cannot be disabled."""
    staff = _account(session, staff_id)
    if not active and staff_id == acting_id:
        raise Refusal("invalid", "不能停用自己正在使用的账号。")
    if not active and staff.role == ADMIN and _other_active_admins(session, staff_id) == 0:
        raise Refusal("invalid", "这是最后一个管理员账号，不能停用。")
    if staff.active != active:
        staff.active = active
        staff.session_epoch += 1
    session.flush()
    return _view(staff, _branch_name(session, staff.branch_id))


def set_password(session: Session, staff_id: int, password: str) -> StaffView:
    """A new password; every session of the account ends."""
    staff = _account(session, staff_id)
    staff.password_hash = hash_password(check_new_password(password))
    session.execute(update(Staff).where(Staff.id == staff_id).values(session_epoch=Staff.session_epoch + 1))
    session.flush()
    session.refresh(staff)
    return _view(staff, _branch_name(session, staff.branch_id))


def ensure_first_admin(session: Session, when: datetime, password: Optional[str] = None,
                       username: str = "admin") -> Optional[Tuple[str, str]]:
    """On a console with no accounts at all, create the first admin.

    Returns (username, password) when created, so the caller can print it
    once; None when accounts exist already.
    """
    if session.execute(select(Staff.id).limit(1)).first() is not None:
        return None
    password = password or generate_password()
    create_staff(session, username=username, display_name="系统管理员", role=ADMIN,
                 password=password, when=when)
    return username, password


def reset_password_by_username(session: Session, username: str, password: Optional[str] = None) -> Tuple[str, str]:
    """For `python -m bot.desk set-password NAME` when a login is lost."""
    staff = session.execute(
        select(Staff).where(Staff.username == normalise_username(username))
    ).scalar_one_or_none()
    if staff is None:
        raise Refusal("not_found", f"没有用户名为 {username} 的账号。")
    password = password or generate_password()
    set_password(session, staff.id, password)
    staff.active = True
    return staff.username, password
