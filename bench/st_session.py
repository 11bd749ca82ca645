"""One visitor of a Streamlit app, spoken to in Streamlit's own protocol: for bench/load.py and the server tests.

No browser. A session does what Streamlit's frontend does over the network:

  - an HTTP GET of the page (through a proxy, the answer to it sets the sticky cookie the
    rest of the session carries);
  - one websocket to /_stcore/stream, subprotocol "streamlit" (the frontend's second and third
    entries are its XSRF token and, on a reconnect, the session id it had);
  - each run is one BackMsg.rerun_script (streamlit.proto) carrying the page, the query string and
    the widget states, and it is timed until the ForwardMsg script_finished that ends it.

The widgets come from the deltas the server sends: an element's id ends with its key, and every
control of lnorm has one (its query parameter), so a change names a key and a value and is sent
the way the frontend sends it: the widget's new state among the others, the URL updated, and the
fragment's id where the widget sits in an st.fragment, so that only the fragment runs.
"""

import asyncio
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

STREAM = "/_stcore/stream"
XSRF_COOKIE = "_streamlit_xsrf"
RUN_TIMEOUT_S = 120  # a run that has not finished by then is an error, not a wait without end
CONNECT_TIMEOUT_S = 30
MAX_MESSAGE_BYTES = 64 << 20
CACHE_RUNS = 2  # the frontend keeps a cacheable message this many runs (global.maxCachedMessageAge)
STATUS = ForwardMsg.ScriptFinishedStatus
DONE = {STATUS.FINISHED_SUCCESSFULLY, STATUS.FINISHED_WITH_COMPILE_ERROR, STATUS.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
FAILURE_TEXT = "Something went wrong"  # lnorm's catch-all message (lnorm_app.ui.user_errors)
# the WidgetState field each kind of widget fills, as the frontend's WidgetStateManager does
VALUE_FIELD = {
    "number_input": "double_value", "selectbox": "string_value", "text_input": "string_value",
    "text_area": "string_value", "radio": "string_value", "tab_container": "string_value",
    "button_group": "string_array_value", "multiselect": "string_array_value",
    "select_slider": "string_array_value", "checkbox": "bool_value", "expandable": "bool_value",
    "slider": "double_array_value",
}
ID_KEY = re.compile(r"^\$\$ID-[0-9a-f]+-(.+)$")  # Streamlit's element id: a hash, then the user's key


@dataclass
class Widget:
    """A control the server drew in the last run: its id, its kind, its options, the fragment it sits in."""

    id: str
    kind: str
    fragment: str = ""
    options: tuple = ()
    param: str = ""  # the query parameter it is bound to, if any
    bounds: tuple = ()  # a number box's or a slider's (min, max), where it has them


@dataclass
class Run:
    """One rerun as the client saw it: seconds from sending to script_finished, and what went wrong."""

    seconds: float
    errors: list = field(default_factory=list)


class Session:
    """One visitor: a websocket to the server and the state its frontend keeps (widgets, URL, cache).

    keep=True keeps every message received (raw bytes), for tests that look for text in them.
    cookie_jar: a dict shared across reconnects (the proxy's sticky cookie lives there).
    """

    def __init__(self, base_url, keep=False, cookie_jar=None, headers=None):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.http_url = base_url.rstrip("/")
        self.ws_url = f"ws://{parts.netloc}{parts.path.rstrip('/')}{STREAM}"
        self.keep = keep
        self.received = []
        self.cookies = {} if cookie_jar is None else cookie_jar
        self.headers = dict(headers or {})  # extra HTTP headers of the upgrade (a test's marker, say)
        self.page = ""
        self.query = []  # the URL's parameters, in order, as (key, value)
        self.widgets = {}  # key -> Widget, from the last full run
        self.states = {}  # widget id -> WidgetState the client has set (the frontend sends them every run)
        self.session_id = ""
        self.response_headers = {}
        self._cached = []  # hashes of cacheable messages, one set per recent run
        self._ws = None

    # ---- connecting ---------------------------------------------------------------------------

    async def fetch_page(self, path):
        """GET path as a browser's first request does, keeping the cookies it sets; the status code."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT_S)
        try:
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            request = (f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nConnection: close\r\n"
                       + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n")
            writer.write(request.encode())
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CONNECT_TIMEOUT_S)
            await asyncio.wait_for(reader.read(), CONNECT_TIMEOUT_S)  # the page itself: read and dropped
        finally:
            writer.close()
        lines = head.decode("latin-1").split("\r\n")
        self._keep_cookies(value for name, _, value in (line.partition(":") for line in lines[1:])
                           if name.strip().lower() == "set-cookie")
        return int(lines[0].split()[1])

    def _keep_cookies(self, values):
        for value in values:
            key, _, rest = value.strip().partition("=")
            self.cookies[key] = rest.split(";", 1)[0]

    async def connect(self, resume=False):
        """Open the websocket; resume=True asks for the session this client had (the frontend's reconnect).

        The subprotocol list is the frontend's: "streamlit", the XSRF token from the page's cookie,
        and on a reconnect the session id; a cookie the answer sets is kept (a proxy's, on a redispatch).
        """
        protocols = ["streamlit"]
        if resume and self.session_id:
            protocols += [self.cookies.get(XSRF_COOKIE) or "none", self.session_id]
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self._ws = await asyncio.wait_for(websockets.connect(
            self.ws_url, subprotocols=protocols, additional_headers=headers, max_size=MAX_MESSAGE_BYTES,
            ping_interval=None, open_timeout=None, compression=None), CONNECT_TIMEOUT_S)
        self.response_headers = {k.lower(): v for k, v in self._ws.response.headers.raw_items()}
        self._keep_cookies(self._ws.response.headers.get_all("Set-Cookie"))

    async def open(self, page, query=""):
        """A first open by link: GET the page, connect, run it. The Run takes in all three."""
        start = time.perf_counter()
        self.page, self.query = page, parse_qsl(query, keep_blank_values=True)
        path = f"/{page}" + (f"?{urlencode(self.query)}" if self.query else "")
        errors = []
        try:
            status = await self.fetch_page(path)
            if status != 200:
                errors.append(f"GET {path}: HTTP {status}")
            await self.connect()
        except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as e:
            return Run(time.perf_counter() - start, errors + [f"connect: {type(e).__name__}: {e}"])
        run = await self.rerun()
        return Run(time.perf_counter() - start, errors + run.errors)

    async def close(self):
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    # ---- running ------------------------------------------------------------------------------

    async def rerun(self, fragment="", history=False):
        """Send one rerun_script and read until its script_finished."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = urlencode(self.query)
        state.page_name = self.page
        state.is_history_navigation = history
        if fragment:
            state.fragment_id = fragment
        state.widget_states.widgets.extend(self.states.values())
        state.cached_message_hashes.extend(set().union(*self._cached) if self._cached else ())
        start = time.perf_counter()
        seen = _Seen()
        try:
            await self._ws.send(msg.SerializeToString())
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while True:
                data = await asyncio.wait_for(self._ws.recv(), max(deadline - time.monotonic(), 0.001))
                if self.keep:
                    self.received.append(data)
                if seen.take(data, self) in DONE:
                    break
        except asyncio.TimeoutError:
            seen.errors.append(f"no script_finished within {RUN_TIMEOUT_S} s")
        except websockets.WebSocketException as e:
            seen.errors.append(f"websocket: {type(e).__name__}: {e}")
        seconds = time.perf_counter() - start
        self._cached = (self._cached + [seen.hashes])[-CACHE_RUNS:]
        if not fragment:  # a full run draws every widget of the page: forget those it no longer draws
            self.widgets = seen.widgets
            ids = {w.id for w in seen.widgets.values()}
            self.states = {i: s for i, s in self.states.items() if i in ids}
        else:
            self.widgets.update(seen.widgets)
        return Run(seconds, seen.errors)

    # ---- what a person does -------------------------------------------------------------------

    async def change(self, key, value):
        """Set the control `key` to value as the frontend does, and run (only its fragment, if it is in one)."""
        w = self.widgets.get(key)
        if w is None:
            return Run(0.0, [f"no control {key!r} on {self.page}"])
        state = WidgetState(id=w.id)
        target = VALUE_FIELD[w.kind]
        if target.endswith("_array_value"):
            getattr(state, target).data.extend(value)
        else:
            setattr(state, target, value)
        self.states[w.id] = state
        if w.param:
            self._set_param(w.param, value)
        return await self.rerun(fragment=w.fragment)

    async def goto(self, page, query=None):
        """Another page of the app, as a click in the navigation (the URL's parameters kept unless given)."""
        self.page = page
        if query is not None:
            self.query = parse_qsl(query, keep_blank_values=True)
        return await self.rerun(history=True)

    def _set_param(self, key, value):
        """The URL's parameter for a bound control, written as the frontend writes it (JavaScript's String())."""
        def text(v):
            if isinstance(v, bool):
                return str(v).lower()
            return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
        values = [text(v) for v in value] if isinstance(value, (list, tuple)) else [text(value)]
        self.query = [(k, v) for k, v in self.query if k != key] + [(key, v) for v in values]


class _Seen:
    """What one run's messages said: the widgets drawn, the errors, the cacheable hashes."""

    def __init__(self):
        self.widgets, self.errors, self.hashes = {}, [], set()
        self._tabs = {}  # delta path of a tab container -> its key: its tabs follow, one block each

    def take(self, data, session):
        """One ForwardMsg; the script_finished status it carries, or None."""
        msg = ForwardMsg()
        msg.ParseFromString(data)
        kind = msg.WhichOneof("type")
        if msg.metadata.cacheable and msg.hash:
            self.hashes.add(msg.hash)
        if kind == "delta":
            self._delta(msg.delta, tuple(msg.metadata.delta_path))
        elif kind == "new_session" and msg.new_session.HasField("initialize"):
            session.session_id = msg.new_session.initialize.session_id
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name!r}")
        elif kind == "script_finished":
            if msg.script_finished == STATUS.FINISHED_WITH_COMPILE_ERROR:
                self.errors.append("the script did not compile")
            return msg.script_finished
        return None

    def _delta(self, delta, path):
        which = delta.WhichOneof("type")
        if which == "new_element":
            kind = delta.new_element.WhichOneof("type")
            body = getattr(delta.new_element, kind) if kind else None
            if kind == "exception":
                self.errors.append(f"exception: {body.type}: {body.message[:200]}")
            elif kind == "alert" and FAILURE_TEXT in body.body:
                self.errors.append(f"alert: {body.body[:200]}")
            elif kind in VALUE_FIELD:
                options = tuple(getattr(o, "content", o) for o in getattr(body, "options", ()))
                if kind == "slider" and options:  # st.select_slider: a slider of labels
                    kind = "select_slider"
                key = self._note(body, kind, delta.fragment_id, options)
                if key and kind in ("number_input", "slider") and (kind == "slider" or body.has_max):
                    self.widgets[key].bounds = (body.min, body.max)
        elif which == "add_block":
            block = delta.add_block
            kind = block.WhichOneof("type")
            if kind == "tab_container":
                key = self._note(block.tab_container, kind, delta.fragment_id, ())
                if key:
                    self._tabs[path] = key
            elif kind == "tab" and path[:-1] in self._tabs:
                tabs = self.widgets[self._tabs[path[:-1]]]
                tabs.options = tabs.options + (block.tab.label,)
            elif kind == "expandable" and block.expandable.id:
                self._note(block.expandable, kind, delta.fragment_id, ())

    def _note(self, body, kind, fragment, options):
        """Keep a widget under its key (the part of its id after the hash); the key, or None."""
        match = ID_KEY.match(body.id or "")
        if not match or match.group(1) == "None":
            return None
        self.widgets[match.group(1)] = Widget(body.id, kind, fragment, options, body.query_param_key)
        return match.group(1)
