"""Extension objects shared by the app: the database session, login manager, CSRF,
rate limiter, cache (its versions are in core.cache) and migrations (the login
throttle, which uses the limiter, belongs to accounts).

They are created empty here and bound in `create_app`; nothing connects on import.
"""

from __future__ import annotations

from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from marketplace.core.db import Database

db = Database()
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = None
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
cache = Cache()
