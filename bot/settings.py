"""Every setting of the helpline, with its default, read from the environment once.

`settings()` builds one frozen `Settings` from the environment the first
time it is asked and keeps it; `reload()` builds it again (the tests do,
whenever they change the environment: tests/conftest.py). Code never reads
`os.environ` itself: it asks for the field here, so each setting has one
name, one default and one line saying what it does.

The Rasa server's channels get theirs through `credentials.yml` `${VAR}`
values and the action server's URL through `endpoints.yml`; `export_defaults`
puts the defaults below into the environment first, so those files expand
even when nothing is set.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Dict, Mapping, MutableMapping, Optional, Tuple, Union

ROOT = Path(__file__).resolve().parents[1]
DEV_SECRET = "development-only-secret"
IPNetwork = Union[IPv4Network, IPv6Network]


def _env(name: str, default: str = "", doc: str = ""):
    """A field read from environment variable `name`; `doc` is what it is for."""
    return field(default=default, metadata={"env": name, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """The environment variables the helpline reads. All values are text; the
    properties below give typed views."""

    # --- data and time --------------------------------------------------------------------------
    data_dir_text: str = _env("HELPLINE_DATA_DIR", str(ROOT / "var"),
                              "directory of the SQLite files and the development SMS log")
    database_url_text: str = _env("DATABASE_URL", "", "bank database URL; empty: SQLite in the data directory")
    tracker_database_url_text: str = _env("TRACKER_DATABASE_URL", "",
                                          "conversation store URL; empty: the bank's PostgreSQL, else SQLite")
    pinned_now: str = _env("HELPLINE_NOW", "", "pin the clock (ISO 8601) for demos and tests; empty: real time")
    bank_profile: str = _env("BANK_PROFILE", str(ROOT / "bot" / "bank" / "demo_bank.yml"),
                             "the bank's profile: name, hotlines, branches, services")
    # --- secrets and identity -------------------------------------------------------------------
    secret: str = _env("HELPLINE_SECRET", DEV_SECRET,
                       "signs console sessions and hashes one-time codes; set it in production")
    code_sender: str = _env("CODE_SENDER", "", "module:Class of the SMS gateway for one-time codes; empty: a log file")
    notice_sender: str = _env("NOTICE_SENDER", "",
                              "module:Class of the SMS gateway for notifications; empty: a log file")
    notice_retry_seconds_text: str = _env("HELPLINE_NOTICE_RETRY_SECONDS", "30",
                                          "first wait before a failed notification is tried again (doubles)")
    reminder_poll_text: str = _env("HELPLINE_REMINDER_POLL", "60",
                                   "seconds between each server's checks for booking reminders due")
    redis_url: str = _env("REDIS_URL", "", "Redis shared by all servers (locks, rate limits, retries, console "
                                       "sessions and login lock-outs); empty: none")
    # --- channels ---------------------------------------------------------------------------------
    rate_per_minute: str = _env("HELPLINE_RATE_PER_MINUTE", "20", "messages a customer may send per minute")
    rate_burst: str = _env("HELPLINE_RATE_BURST", "8", "messages a customer may send at once")
    address_rate_per_minute: str = _env("HELPLINE_ADDRESS_RATE_PER_MINUTE", "300",
                                        "messages one client address may send per minute (many customers "
                                        "can share one NAT address)")
    address_rate_burst: str = _env("HELPLINE_ADDRESS_RATE_BURST", "60", "messages one client address may send at once")
    trusted_proxies_text: str = _env("HELPLINE_TRUSTED_PROXIES", "",
                                     "comma-separated addresses or networks of the proxies whose X-Forwarded-For "
                                     "is believed (HAProxy's); empty: none, the peer is the client")
    reply_deadline: str = _env("HELPLINE_REPLY_DEADLINE", "4.5",
                               "seconds before a customer gets an apology instead of silence")
    outbox_poll: str = _env("HELPLINE_OUTBOX_POLL", "0.5", "seconds between outbox deliveries")
    websocket_max_size: str = _env("SANIC_WEBSOCKET_MAX_SIZE", str(7 * 1024 ** 2),
                                   "largest websocket message the Rasa server takes: a customer's 5 MB photo in one "
                                   "socket.io event (Sanic's own default is 1 MiB)")
    attachment_days_text: str = _env("HELPLINE_ATTACHMENT_DAYS", "30",
                                     "days the photos and files of a hand-off are kept, then deleted")
    public_url: str = _env("HELPLINE_PUBLIC_URL", "",
                           "the address customers reach the Rasa servers at, e.g. https://chat.bank.example "
                           "(links to PDFs agents send on WeChat); empty: such a PDF goes as an SMS notice")
    rest_callback_url: str = _env("HELPLINE_REST_CALLBACK_URL", "", "where the REST channel pushes later messages")
    rest_callback_secret: str = _env("HELPLINE_REST_CALLBACK_SECRET", "", "HMAC key that signs those pushes")
    wechat_token: str = _env("WECHAT_TOKEN", "", "WeChat official account token; empty: the channel refuses all")
    wechat_app_id: str = _env("WECHAT_APP_ID", "", "WeChat AppID")
    wechat_app_secret: str = _env("WECHAT_APP_SECRET", "", "WeChat AppSecret")
    wechat_encoding_aes_key: str = _env("WECHAT_ENCODING_AES_KEY", "", "WeChat EncodingAESKey (safe mode)")
    wechat_api_base: str = _env("WECHAT_API_BASE", "https://api.weixin.qq.com", "WeChat API address")
    wechat_templates_text: str = _env("WECHAT_TEMPLATE_IDS", "",
                                      "template ids per notification kind, e.g. deferral_decision=TPL1,agent_reply=TPL2")
    knowledge_refresh: str = _env("HELPLINE_KNOWLEDGE_REFRESH", "30",
                                  "seconds between the action server's checks for a changed knowledge base")
    tracker_cache_text: str = _env("HELPLINE_TRACKER_CACHE", "300",
                                   "conversations each Rasa server keeps in memory after saving them; 0: none")
    actions_url: str = _env("HELPLINE_ACTIONS_URL", "http://localhost:5055/webhook",
                            "the action server's webhook (endpoints.yml)")
    # --- the staff console ----------------------------------------------------------------------
    desk_host: str = _env("DESK_HOST", "127.0.0.1", "address the console listens on")
    desk_port: str = _env("DESK_PORT", "8080", "port the console listens on")
    desk_admin_password: str = _env("DESK_ADMIN_PASSWORD", "", "first admin's password; empty: generated and printed")
    desk_session_hours_text: str = _env("DESK_SESSION_HOURS", "10", "hours a console sign-in lasts")
    desk_secure_cookies: str = _env("DESK_SECURE_COOKIES", "", "1: session cookies only over HTTPS")
    desk_bcrypt_rounds_text: str = _env("DESK_BCRYPT_ROUNDS", "12", "bcrypt cost for staff passwords (4-16)")
    rasa_url: str = _env("RASA_URL", "http://127.0.0.1:5005", "the Rasa server, for transcripts")
    rasa_token: str = _env("RASA_TOKEN", "", "token of Rasa's HTTP API")
    metrics_token: str = _env("HELPLINE_METRICS_TOKEN", "",
                              "bearer token Prometheus sends for GET /metrics; empty: /metrics answers 404")
    widget_server_url: str = _env("WIDGET_SERVER_URL", "http://localhost:5005",
                                  "the Rasa server the demo page's widget connects to")
    reviewed_nlu: str = _env("HELPLINE_REVIEWED_NLU", str(ROOT / "data" / "nlu" / "reviewed.yml"),
                             "where reviewed examples from the console's learning page are written")

    # --- typed views ------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        path = Path(self.data_dir_text)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def database_url(self) -> str:
        return self.database_url_text or f"sqlite:///{self.data_dir / 'bank.db'}"

    @property
    def tracker_database_url(self) -> str:
        """The explicit URL; else the bank's database when it is a server (one to back up);
        else an SQLite file of its own, because two writers with different locking
        habits should not share one SQLite file."""
        if self.tracker_database_url_text:
            return self.tracker_database_url_text
        if self.database_url_text and not self.database_url_text.startswith("sqlite"):
            return self.database_url_text
        return f"sqlite:///{self.data_dir / 'tracker.db'}"

    @property
    def trusted_proxies(self) -> Tuple[IPNetwork, ...]:
        return tuple(ip_network(entry.strip(), strict=False) for entry in self.trusted_proxies_text.split(",")
                     if entry.strip())

    @property
    def uses_development_secret(self) -> bool:
        return self.secret == DEV_SECRET

    @property
    def desk_session_seconds(self) -> int:
        return int(float(self.desk_session_hours_text) * 3600)

    @property
    def notice_retry_seconds(self) -> float:
        return float(self.notice_retry_seconds_text)

    @property
    def tracker_cache_size(self) -> int:
        return int(self.tracker_cache_text)

    @property
    def attachment_days(self) -> int:
        return int(self.attachment_days_text)

    @property
    def reminder_poll(self) -> float:
        return float(self.reminder_poll_text)

    @property
    def wechat_templates(self) -> Dict[str, str]:
        """Notification kind -> WeChat template id, from `kind=id` pairs separated by commas."""
        pairs = (item.split("=", 1) for item in self.wechat_templates_text.split(",") if "=" in item)
        return {kind.strip(): template.strip() for kind, template in pairs if kind.strip() and template.strip()}

    @property
    def desk_bcrypt_rounds(self) -> int:
        return min(max(int(self.desk_bcrypt_rounds_text), 4), 16)


def from_environment(environ: Mapping[str, str]) -> Settings:
    """Settings from `environ`; unset or empty variables take their defaults."""
    given = {f.name: environ[f.metadata["env"]] for f in fields(Settings)
             if environ.get(f.metadata["env"], "") != ""}
    return Settings(**given)


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process's settings, read once."""
    return from_environment(os.environ)


def reload() -> Settings:
    """Read the environment again."""
    settings.cache_clear()
    return settings()


def documentation() -> Dict[str, Dict[str, str]]:
    """variable -> {"default", "doc"}, for the README table and `python -m bot.settings`."""
    return {f.metadata["env"]: {"default": f.default, "doc": f.metadata["doc"]} for f in fields(Settings)}


def export_defaults(environ: Optional[MutableMapping[str, str]] = None) -> None:
    """Put every unset variable's default into the environment, so Rasa's
    `${VAR}` expansion of credentials.yml and endpoints.yml always succeeds."""
    environ = os.environ if environ is None else environ
    for name, entry in documentation().items():
        environ.setdefault(name, entry["default"])


if __name__ == "__main__":
    for variable, entry in documentation().items():
        print(f"{variable:32} {entry['default'] or '(empty)':40} {entry['doc']}")
