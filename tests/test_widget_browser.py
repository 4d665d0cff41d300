"""The chat widget in Debian's Chromium, on the demo bank's page, against a
real Rasa server: what a customer sees, clicks and gets back.

One Rasa stack for the module: the widget channel on the namespace /chat
(so emits on a configured namespace are covered) and with `REDIS_URL`, as
in a cluster (so every emit goes through Redis; the machine's Redis on
127.0.0.1:6379 must be running). The console app serves the demo page in a
thread, and a TCP relay in front of Rasa can be cut like a mobile network
drops. Agents are simulated by queuing outbox rows in the stack's bank
database, as the console does.
"""
from __future__ import annotations

import asyncio
import socket
from contextlib import contextmanager
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
import socketio
from tests.bankdb import serve
from aiohttp import web
from playwright.sync_api import expect, sync_playwright

from tests.conftest import PINNED_NOW
from tests.stack import ROOT, Stack, free_port


pytestmark = [pytest.mark.server, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
BUNDLE = ROOT / "bot" / "desk" / "static" / "widget.js"
SCREENSHOTS = ROOT / "build" / "screenshots"
ANSWER_TIMEOUT_MS = 30_000
NAMESPACE = "/chat"
CREDENTIALS = f"""\
bot.channels.ops.OpsInput:
bot.channels.widget.WidgetInput:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: true
  socketio_path: /socket.io
  namespace: {NAMESPACE}
"""
SESSION_KEY = "helpline-widget:session"
REDIS_URL = "redis://127.0.0.1:6379/0"


class FlakyRelay:
    """A TCP relay to the Rasa server whose connections the test can cut."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.open_sockets: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self.open_sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            _shut(sock)

    def cut(self) -> None:
        """Drop every connection and refuse new ones until `restore`."""
        self.up = False
        for sock in self.open_sockets:
            _shut(sock)
        self.open_sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class DeskServer:
    """The staff console app (with the demo page) on a loopback port, in a thread."""

    def __init__(self) -> None:
        from bot.desk.app import PAGE_MODULES, create_app
        from bot.desk.pages import widget_demo

        pages = PAGE_MODULES if widget_demo in PAGE_MODULES else (*PAGE_MODULES, widget_demo)
        self.app = create_app(pages)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(self.app)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def start(self) -> "DeskServer":
        self.thread.start()
        assert self.ready.wait(30), "the console app did not start"
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


# --- fixtures -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def bundle() -> Path:
    """The built widget; `make widget` builds it when missing (npm ci + esbuild)."""
    if not BUNDLE.exists():
        subprocess.run(["make", "widget"], cwd=ROOT, check=True)
    return BUNDLE


def require_redis() -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (the widget tests run Rasa as a cluster "
                    "member); start it: redis-server --daemonize yes --save ''")


@pytest.fixture(scope="module")
def site(bundle, tmp_path_factory) -> Iterator[Tuple[Stack, FlakyRelay, DeskServer]]:
    """Rasa + actions, the relay in front of Rasa, and the demo page pointing at it.

    This process shares the stack's bank database, so tests can queue outbox rows.
    """
    require_redis()
    with pytest.MonkeyPatch.context() as env:
        workdir = tmp_path_factory.mktemp("widget-stack")
        env.delenv("DATABASE_URL", raising=False)
        env.setenv("HELPLINE_DATA_DIR", str(workdir))
        env.setenv("HELPLINE_NOW", PINNED_NOW)
        stack = Stack(workdir=workdir, credentials_yaml=CREDENTIALS,
                      env_extra={"HELPLINE_NOW": PINNED_NOW, "HELPLINE_OUTBOX_POLL": "0.2", "REDIS_URL": REDIS_URL})
        try:
            stack.start()
            relay = FlakyRelay(stack.rasa_port)
            env.setenv("WIDGET_SERVER_URL", f"http://127.0.0.1:{relay.port}{NAMESPACE}")
            # The console's live chat reads the conversation from this Rasa.
            env.setenv("RASA_URL", f"http://127.0.0.1:{stack.rasa_port}")
            env.setenv("RASA_TOKEN", stack.token)
            desk = DeskServer().start()
            yield stack, relay, desk
            desk.stop()
            relay.close()
        finally:
            stack.stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium); "
                    "Playwright must never download a browser of its own.")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _part(selector: str) -> property:
    """A locator for part of the widget; CSS locators pierce its open shadow root."""
    return property(lambda self: self.page.locator(selector))


class Widget:
    """The demo page with the widget, as a customer uses it."""

    launcher, badge, panel = _part(".launcher"), _part(".badge"), _part(".panel")
    input, status, typing = _part("textarea"), _part(".status"), _part(".typing")
    log, subtitle, root = _part(".messages"), _part(".subtitle"), _part(".root")
    large_toggle, notices = _part(".large-toggle"), _part(".notice")
    user_bubbles, bot_bubbles = _part(".row.user .bubble"), _part(".row.bot:not(.welcome) .bubble")
    bot_rows = _part(".row.bot:not(.welcome)")

    def __init__(self, page, site) -> None:
        self.page = page
        self.stack, self.relay, self.desk = site
        self.errors: List[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.set_default_timeout(ANSWER_TIMEOUT_MS)

    def visit(self) -> "Widget":
        self.page.goto(self.desk.url)
        expect(self.launcher).to_be_visible()
        return self

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()
        expect(self.input).to_be_focused()
        self.wait_until_connected()

    def wait_until_connected(self) -> None:
        expect(self.status).to_be_hidden()

    def ask(self, text: str) -> None:
        bubbles = self.bot_bubbles.count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.user_bubbles.last).to_have_text(f"我：{text}")
        expect(self.bot_bubbles).not_to_have_count(bubbles)

    def click_reply(self, title: str):
        """Click a quick reply of the newest bot message and wait for the answer;
        returns that message's row."""
        bubbles = self.bot_bubbles.count()
        button = self.bot_rows.last.locator("button.reply", has_text=title)
        expect(button).to_be_enabled()
        row = self.bot_rows.nth(self.bot_rows.count() - 1)
        button.click()
        expect(self.user_bubbles.last).to_have_text(f"我：{title}")
        expect(self.bot_bubbles).not_to_have_count(bubbles)
        return row

    def session_id(self) -> str:
        self.page.wait_for_function(f"localStorage.getItem('{SESSION_KEY}') !== null")
        return self.page.evaluate(f"localStorage.getItem('{SESSION_KEY}')")

    def tracker(self) -> dict:
        return self.stack.tracker(self.session_id())


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    yield context
    context.close()


@pytest.fixture
def widget(context, site) -> Iterator[Widget]:
    customer = Widget(context.new_page(), site).visit()
    yield customer
    assert customer.errors == [], "JavaScript errors on the page"


def queue_for(session_id: str, kind: str, messages: List[dict]) -> None:
    """What the console does when an agent acts: an outbox row for the widget."""
    from bot.bank.db import transaction
    from bot.bank.messaging import outbox
    from bot.clock import now

    with transaction() as session:
        outbox.queue(session, "widget", session_id, kind, messages, at=now())


def wait_until_delivered(session_id: str, timeout: float = 15) -> None:
    from bot.bank.messaging import outbox

    deadline = time.monotonic() + timeout
    while serve(outbox.pending_for, "widget", session_id):
        assert time.monotonic() < deadline, "the outbox row was not delivered"
        time.sleep(0.2)


# --- tests ----------------------------------------------------------------------------

def test_opening_hours_question_gets_an_answer_with_hours(widget):
    expect(widget.badge).to_be_hidden()
    widget.open()
    expect(widget.page.locator(".welcome")).to_be_visible()
    widget.input.fill("福田支行今天几点开门")
    widget.input.press("Enter")
    assert widget.typing.is_visible(), "the typing dots show while the bot works"
    expect(widget.bot_bubbles.last).to_contain_text("09:00", timeout=ANSWER_TIMEOUT_MS)
    expect(widget.typing).to_be_hidden()
    expect(widget.page.locator(".welcome")).to_have_count(0)
    tracker = widget.tracker()
    assert tracker["latest_input_channel"] == "widget"
    assert tracker["latest_message"]["text"] == "福田支行今天几点开门"


def test_quick_reply_sends_its_payload_shows_its_title_and_survives_a_reload(widget):
    widget.open()
    widget.ask("🙏🙏🙏")
    menu = widget.click_reply("手机银行怎么开通")
    expect(widget.bot_bubbles.last).to_contain_text("400-830-9595")
    expect(menu.locator("button.reply").first).to_be_disabled()  # only the newest message's buttons work

    widget.ask("🙏🙏🙏")
    widget.click_reply("查网点营业时间")
    asked = [e for e in widget.tracker()["events"] if e["event"] == "user" and e["text"] == "/ask_opening_hours"]
    assert asked and asked[0]["metadata"]["display"] == "查网点营业时间", "payload sent, title kept"

    said = widget.log.text_content()
    widget.page.reload()
    expect(widget.panel).to_be_visible()  # it was open: it opens again
    expect(widget.log).to_have_text(said)
    expect(widget.user_bubbles.filter(has_text="/ask_opening_hours")).to_have_count(0)


def test_agent_reply_during_a_handoff_rings_the_badge_and_shows_the_notice(widget):
    widget.open()
    widget.ask("你好")
    session_id = widget.session_id()
    widget.page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_be_focused()

    queue_for(session_id, "handoff_joined", [{"custom": {"handoff": "joined", "agent": "王客服"}}])
    queue_for(session_id, "agent_message", [{"text": "您好，我是客服小王", "metadata": {"agent": "王客服"}}])
    expect(widget.badge).to_have_text("2")
    assert "2条未读" in widget.launcher.get_attribute("aria-label")

    widget.page.keyboard.press("Enter")  # the launcher still has the focus
    expect(widget.panel).to_be_visible()
    expect(widget.input).to_be_focused()
    expect(widget.badge).to_be_hidden()
    expect(widget.notices).to_have_text("王客服已接入，接下来由人工为您服务")
    expect(widget.bot_bubbles.last.locator(".sender")).to_have_text("王客服")  # never 人工客服王客服
    expect(widget.bot_bubbles.last).to_contain_text("您好，我是客服小王")
    expect(widget.subtitle).to_have_text("王客服正在为您服务")

    queue_for(session_id, "agent_message", [{"text": "**请注意**：详见[公告](https://www.pcbank.example/notice)，"
                                                     "不要点[这个](javascript:alert(1))", "metadata": {"agent": "王**"}}])
    latest = widget.bot_bubbles.last
    expect(latest.locator("strong")).to_have_text("请注意")
    expect(latest.locator("a")).to_have_count(1)
    assert latest.locator("a").get_attribute("href") == "https://www.pcbank.example/notice"
    assert latest.locator("a").get_attribute("rel") == "noopener noreferrer"
    expect(latest).to_contain_text("不要点这个")

    queue_for(session_id, "handoff_closed", [{"custom": {"handoff": "left", "agent": "王客服"}}])
    expect(widget.notices.last).to_contain_text("人工服务已结束")
    expect(widget.subtitle).to_have_text("智能客服小鹏 · 24小时在线")
    assert widget.log.get_attribute("aria-live") == "polite"


def test_a_reply_pushed_while_the_page_was_closed_waits_for_the_customer(widget, context, site):
    widget.open()
    widget.ask("你好")
    session_id = widget.session_id()
    widget.page.keyboard.press("Escape")
    widget.page.close()

    queue_for(session_id, "agent_message", [{"text": "您好，您的延期申请已经通过", "metadata": {"agent": "李**"}}])
    wait_until_delivered(session_id)

    again = Widget(context.new_page(), site).visit()
    expect(again.badge).to_have_text("1")
    again.open()
    expect(again.bot_bubbles.last).to_contain_text("您好，您的延期申请已经通过")
    expect(again.bot_bubbles.filter(has_text="延期申请已经通过")).to_have_count(1)
    assert again.errors == []


def test_a_decision_for_a_customer_who_closed_the_page_goes_by_sms(widget):
    """In a cluster no server can list another's sockets: presence in Redis says the page is
    closed, so the notification does not wait in a history the customer may never reopen."""
    from bot.bank.customers.identity import customer_by_phone
    from bot.bank.messaging import notifications
    from bot.bank.messaging.models import NotificationKind

    widget.open()
    widget.ask("你好")
    session_id = widget.session_id()
    widget.page.close()
    text = f"您调整每月扣款日的申请已经通过（{session_id[:6]}）"

    def decide(session, at):
        customer = customer_by_phone(session, "13900139000")
        notifications.notify(session, NotificationKind.DEFERRAL_DECISION, "widget", session_id, [{"text": text}],
                             at=at, customer_id=customer.id)

    serve(decide)
    deadline = time.monotonic() + 30
    while text not in (widget.stack.log("dev_notices.log") or ""):
        assert time.monotonic() < deadline, "the decision was not texted"
        time.sleep(0.2)
    assert f"13900139000\t【鹏城银行】{text}" in widget.stack.log("dev_notices.log")


def test_a_dropped_connection_shows_its_status_and_recovers(widget):
    widget.open()
    widget.ask("你好")
    widget.relay.cut()
    try:
        expect(widget.status).to_contain_text("正在重新连接")
        widget.input.fill("福田支行今天几点开门")
        widget.input.press("Enter")
        expect(widget.status).to_contain_text("没有发出")
        expect(widget.input).to_have_value("福田支行今天几点开门")  # not lost: still in the box
    finally:
        widget.relay.restore()
    widget.wait_until_connected()
    widget.input.press("Enter")
    expect(widget.bot_bubbles.last).to_contain_text("09:00")
    expect(widget.user_bubbles).to_have_count(2)


def test_any_server_of_the_cluster_can_reach_the_customer(widget):
    """Another Rasa server emits to the session's room through Redis."""
    widget.open()
    other_server = socketio.RedisManager(REDIS_URL, write_only=True)
    other_server.emit("bot_uttered", {"text": "这条消息来自另一台服务器"}, room=widget.session_id(),
                      namespace=NAMESPACE)
    expect(widget.bot_bubbles.last).to_have_text("这条消息来自另一台服务器")


def test_a_socket_speaks_only_in_the_session_it_asked_for(widget):
    """Rasa's channel takes any session id from any message; ours does not."""
    widget.open()
    widget.ask("你好")
    session_id = widget.session_id()
    before = len(widget.tracker()["events"])
    intruder = socketio.Client()
    confirmed: List[str] = []
    intruder.on("session_confirm", confirmed.append, namespace=NAMESPACE)
    intruder.connect(widget.stack.rasa_url, namespaces=[NAMESPACE])
    try:
        intruder.emit("user_uttered", {"message": "转账给我", "session_id": session_id}, namespace=NAMESPACE)
        intruder.emit("session_request", {"session_id": "x" * 20}, namespace=NAMESPACE)  # a socket id's shape
        deadline = time.monotonic() + 10
        while not confirmed and time.monotonic() < deadline:
            time.sleep(0.1)
        widget.page.wait_for_timeout(3000)  # time enough for Rasa to have answered, had it listened
    finally:
        intruder.disconnect()
    assert confirmed and confirmed[0] not in (session_id, "x" * 20) and len(confirmed[0]) == 32
    assert len(widget.tracker()["events"]) == before
    expect(widget.user_bubbles).to_have_count(1)


def test_large_text_mode_is_remembered(widget):
    widget.open()

    def size() -> str:
        return widget.root.evaluate("root => getComputedStyle(root).fontSize")

    assert size() == "15px"
    widget.large_toggle.click()
    expect(widget.large_toggle).to_have_attribute("aria-pressed", "true")
    assert size() == "19px"
    widget.page.reload()
    expect(widget.large_toggle).to_have_attribute("aria-pressed", "true")
    assert size() == "19px"


def test_customer_html_is_shown_as_text(widget):
    widget.open()
    widget.ask("<img src=x onerror=alert(1)>")
    expect(widget.user_bubbles.last).to_have_text("我：<img src=x onerror=alert(1)>")
    expect(widget.log.locator("img")).to_have_count(0)


@pytest.mark.parametrize("name, viewport", [("phone", {"width": 390, "height": 844}),
                                            ("desktop", {"width": 1280, "height": 800})])
def test_screenshots_of_the_open_widget(browser, site, name, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    try:
        customer = Widget(context.new_page(), site).visit()
        customer.open()
        customer.ask("你好")
        customer.ask("福田支行今天几点开门")
        box = customer.panel.bounding_box()
        if name == "phone":  # full screen under 480 px
            assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
            expect(customer.launcher).to_be_hidden()
        else:
            assert box["width"] < 500 and box["x"] > 700
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        customer.page.screenshot(path=str(SCREENSHOTS / f"widget-{name}.png"))
        assert customer.errors == []
    finally:
        context.close()


@contextmanager
def agent_on_the_case(widget, browser):
    """An agent, 王芳, on duty: the customer asks for a person, the bot queues and pauses the
    conversation, she claims the case and has its page open in a browser of her own."""
    from bot.bank.db import transaction
    from bot.bank.handoff import escalations as handoff
    from bot.bank.staff.accounts import create_staff
    from bot.clock import now
    from tests.test_desk import PASSWORD
    from tests.test_desk_browser import sign_in

    username = f"agent-{widget.session_id()[:8]}"   # one per test: the module shares a database
    with transaction() as session:
        agent_id = create_staff(session, username=username, display_name="王芳", role="agent",
                                password=PASSWORD, when=now()).id
    serve(handoff.touch_presence, agent_id)
    widget.ask("转人工")
    case = serve(handoff.open_for, widget.session_id())
    serve(handoff.claim, case.id, agent_id)
    expect(widget.subtitle).to_have_text("王客服正在为您服务")
    desk_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    try:
        agent = desk_context.new_page()
        console = widget.desk.url.rstrip("/")
        sign_in(agent, console, username)
        agent.goto(f"{console}/escalations/{case.id}")
        yield agent
    finally:
        desk_context.close()


def test_the_customer_and_the_agent_see_each_other_typing(widget, browser):
    """Both sides through the real paths: the widget's socket to Rasa, the case row, the console's
    live chat, and back through the delivery loop to the widget."""
    widget.open()
    widget.ask("你好")
    with agent_on_the_case(widget, browser) as agent:
        customer_typing = agent.locator("[data-chat-typing]")
        expect(customer_typing).to_be_hidden()
        widget.input.press_sequentially("我想问一下", delay=50)
        expect(customer_typing).to_be_visible()
        expect(customer_typing).to_have_text("客户正在输入…")
        agent.screenshot(path=str(ROOT / "docs" / "screenshots" / "desk-customer-typing.png"))

        expect(widget.typing).to_be_hidden()
        agent.get_by_label("回复客户").press_sequentially("好的，请稍等", delay=50)
        expect(widget.typing).to_be_visible()
        expect(widget.typing).to_have_attribute("title", "王客服正在输入…")
        widget.page.screenshot(path=str(ROOT / "docs" / "screenshots" / "widget-agent-typing.png"))


def test_a_customers_photo_reaches_the_agent_who_opens_it(widget, browser):
    """The photo goes up the widget's socket, is kept with the case, shows in both windows,
    and opens for the agent from the console; the bot, paused for the agent, says nothing."""
    from tests.files import png

    widget.open()
    widget.ask("你好")
    with agent_on_the_case(widget, browser) as agent:
        expect(widget.page.locator(".attach")).to_be_visible()
        answers = widget.bot_bubbles.count()
        photo = png(1000, 1000, noise=True)   # 3 MB, as a phone's photo: more than a websocket frame's 1 MiB default
        assert len(photo) > 3_000_000
        widget.page.locator("input[type=file]").set_input_files(
            files=[{"name": "诈骗短信13800138000.png", "mimeType": "image/png", "buffer": photo}])
        sent = widget.user_bubbles.last.locator("img")
        expect(sent).to_be_visible()
        assert sent.evaluate("image => image.naturalWidth") == 1000   # served back by the Rasa server's files route

        image = agent.locator("[data-chat-log] a.chat-file img")
        expect(image).to_be_visible()
        expect(image).to_have_attribute("alt", "诈骗短信*******8000.png")
        assert image.evaluate("image => image.naturalWidth") == 1000
        with agent.context.expect_page() as opened:
            image.click()
        tab = opened.value
        tab.wait_for_load_state()
        assert "/escalations/" in tab.url and "/files/" in tab.url
        assert "13800138000" not in agent.content()
        agent.screenshot(path=str(ROOT / "docs" / "screenshots" / "desk-attachment.png"), full_page=True)
        assert widget.bot_bubbles.count() == answers
