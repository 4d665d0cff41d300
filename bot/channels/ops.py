"""Operations endpoints on the Rasa server: `GET /metrics` for Prometheus.

Rasa serves only what input channels and its own API define, so this is an
input channel that takes no messages (credentials.yml:
`bot.channels.ops.OpsInput:`). Its blueprint is mounted at the root
(`url_prefix()` is "/"), so the scrape path is the conventional `/metrics`,
in Prometheus's text format, from bot/metrics.py's counters. The Rasa server's
port is the customers' one, so the counts answer only a scraper that sends
`Authorization: Bearer $HELPLINE_METRICS_TOKEN`; with no token set the path
does not exist (404).

It also puts `--logging-config-file` back in charge of logging (bot/logs.py):
Rasa's start-up replaces that file's handlers with plain-text ones, which
would print personal data unmasked. Rasa asks for the blueprints after its
own logging set-up and before any message, which is when that is done; list
this channel first in credentials.yml so the other channels' start-up
warnings are JSON too.

Work that belongs to no channel runs here too, in every Rasa server:
sending the notifications whose route has become SMS, and the day-before
booking reminders (`bot.channels.delivery.attach_jobs`).
"""
from __future__ import annotations

import hmac
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.delivery import attach_jobs
from bot.logs import reapply_config_file
from bot.settings import settings


class OpsInput(InputChannel):
    """`/metrics`; our logging configuration, applied again; the SMS notifications' and reminders' loops."""

    @classmethod
    def name(cls) -> str:
        return "ops"

    def url_prefix(self) -> str:
        return "/"

    def blueprint(self, on_new_message: Any) -> Blueprint:
        reapply_config_file()
        ops = Blueprint("ops", __name__)

        @ops.route("/metrics", methods=["GET"])
        async def metrics(request: Request) -> HTTPResponse:
            token = settings().metrics_token
            if not token:
                return response.text("Not Found", status=404)
            if not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
                return response.text("Unauthorized", status=401, headers={"WWW-Authenticate": "Bearer"})
            return response.raw(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)

        attach_jobs(ops)
        return ops
