"""Authentication flows (the original LoadSpiker API): basic, bearer, API key, form login,
OAuth 2.0 client credentials, custom.

Each flow runs two ways. On a declarative scenario (``scenario.set_auth(flow)``) it compiles
to the plan: a header on every step, or a login step run once per VU whose token is extracted
and sent on the later steps, all in the engine. In Python (``authenticate(engine, user_id)``)
it makes its requests through the engine and keeps the result in the session manager.
"""

import base64
import threading

from .session_manager import get_session_manager

__all__ = [
    "AuthFlow", "BasicAuth", "BearerAuth", "APIKeyAuth", "FormLoginAuth",
    "OAuth2ClientCredentials", "CustomAuth", "create_basic_auth", "create_bearer_auth",
    "create_api_key_auth", "create_form_auth", "create_oauth2_client_credentials",
    "create_custom_auth", "AuthenticationManager", "get_authentication_manager",
    "AuthenticationError",
]


class AuthenticationError(Exception):
    pass


class AuthFlow:
    """A way to authenticate. ``headers()``: what every request carries once done."""

    def defaults(self, scenario):
        return {}

    def login_steps(self, scenario):
        return []

    def step_headers(self):
        return {}

    def authenticate(self, engine, user_id="default"):
        headers = self.headers()
        get_session_manager().session(user_id)["headers"].update(headers)
        return headers

    def headers(self):
        return {}


class BasicAuth(AuthFlow):
    def __init__(self, username, password):
        self.username, self.password = username, password

    def defaults(self, scenario):
        return {"auth": {"basic": f"{self.username}:{self.password}"}}

    def headers(self):
        raw = f"{self.username}:{self.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


class BearerAuth(AuthFlow):
    def __init__(self, token):
        self.token = token

    def defaults(self, scenario):
        return {"auth": {"bearer": self.token}}

    def headers(self):
        return {"Authorization": f"Bearer {self.token}"}


class APIKeyAuth(AuthFlow):
    def __init__(self, key, header="X-API-Key"):
        self.key, self.header = key, header

    def defaults(self, scenario):
        return {"auth": {"api_key": self.key, "header": self.header}}

    def headers(self):
        return {self.header: self.key}


class _TokenLogin(AuthFlow):
    """A login request made once per VU whose JSON answer holds a token."""
    variable = "auth_token"

    def __init__(self, url, token_path, header="Authorization", scheme="Bearer"):
        self.url = url
        self.token_path = token_path
        self.header = header
        self.scheme = scheme

    def _form(self):
        raise NotImplementedError

    def _path(self):
        p = self.token_path
        return p if p.startswith("$") else "$." + p

    def login_steps(self, scenario):
        step = {"name": "login", "method": "POST", "url": self.url, "form": self._form(),
                "once": True, "checks": ["status < 400"]}
        if self.token_path:
            step["extract"] = {self.variable: "json:" + self._path()}
        return [step]

    def defaults(self, scenario):
        return {} if self.token_path else {"cookie_jar": True}  # a session cookie

    def step_headers(self):
        if not self.token_path:
            return {}
        value = f"${{{self.variable}}}"
        return {self.header: f"{self.scheme} {value}" if self.scheme else value}

    def authenticate(self, engine, user_id="default"):
        r = engine.post(self.url, data=self._form())
        if not r.success:
            raise AuthenticationError(f"login at {self.url}: {r.error_message}")
        sm = get_session_manager()
        sm.auto_handle_cookies(user_id, r)
        if not self.token_path:
            return {}
        token = sm.process_response(user_id, r, [{"type": "json_path", "path": self.token_path,
                                                  "variable": "token"}]).get("token")
        if token is None:
            raise AuthenticationError(f"login at {self.url}: no {self.token_path} in the answer")
        headers = {self.header: f"{self.scheme} {token}" if self.scheme else token}
        sm.session(user_id)["headers"].update(headers)
        return headers


class FormLoginAuth(_TokenLogin):
    def __init__(self, login_url, username, password, username_field="username",
                 password_field="password", token_path=None, extra_fields=None):
        super().__init__(login_url, token_path)
        self.fields = {username_field: username, password_field: password}
        self.fields.update(extra_fields or {})

    def _form(self):
        return dict(self.fields)


class OAuth2ClientCredentials(_TokenLogin):
    variable = "access_token"

    def __init__(self, token_url, client_id, client_secret, scope=None):
        super().__init__(token_url, "access_token")
        self.client_id, self.client_secret, self.scope = client_id, client_secret, scope

    def _form(self):
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret}
        if self.scope:
            form["scope"] = self.scope
        return form


class CustomAuth(AuthFlow):
    """``fn(engine, user_id) -> headers``: Python only."""

    def __init__(self, fn):
        self.fn = fn

    def login_steps(self, scenario):
        raise ValueError("a custom authentication flow runs in Python: use it with user code "
                         "(run_custom_test) or authenticate(); declarative scenarios take "
                         "basic, bearer, API key, form login or OAuth 2.0 flows")

    def authenticate(self, engine, user_id="default"):
        headers = dict(self.fn(engine, user_id) or {})
        get_session_manager().session(user_id)["headers"].update(headers)
        return headers


def create_basic_auth(username, password):
    return BasicAuth(username, password)


def create_bearer_auth(token):
    return BearerAuth(token)


def create_api_key_auth(key, header="X-API-Key"):
    return APIKeyAuth(key, header)


def create_form_auth(login_url, username, password, **kw):
    return FormLoginAuth(login_url, username, password, **kw)


def create_oauth2_client_credentials(token_url, client_id, client_secret, scope=None):
    return OAuth2ClientCredentials(token_url, client_id, client_secret, scope)


def create_custom_auth(fn):
    return CustomAuth(fn)


class AuthenticationManager:
    def __init__(self):
        self._flows = {}
        self._lock = threading.Lock()

    def register_flow(self, name, flow):
        if not isinstance(flow, AuthFlow):
            raise ValueError(f"register_flow: {flow!r} is not an authentication flow")
        with self._lock:
            self._flows[name] = flow

    def get_flow(self, name):
        try:
            return self._flows[name]
        except KeyError:
            raise KeyError(f"no authentication flow named {name!r}; registered: "
                           f"{', '.join(sorted(self._flows)) or 'none'}") from None

    def authenticate(self, name, engine, user_id="default"):
        return self.get_flow(name).authenticate(engine, user_id)


_manager = AuthenticationManager()


def get_authentication_manager():
    return _manager
