"""The service registry: `create_app` registers a factory per service, and views,
API resources and tasks ask for the service by its interface, never by importing
the module that assembles the app.

A feature lower in the dependency order can also ask for something a higher one
provides (the catalogue's pin page shows the orders' price guide) by declaring the
interface itself; whoever implements it registers a factory. Services are built
per call from the current app context, so each gets the request's or the task's
session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, current_app

T = TypeVar("T")

_KEY = "znachki.services"


class ServiceMissing(LookupError):
    """No factory was registered for the interface asked for."""


def register_service(app: Flask, interface: type[T], factory: Callable[[], T]) -> None:
    """Make `find_service(interface)` call `factory()` in this app."""
    app.extensions.setdefault(_KEY, {})[interface] = factory


def find_service(interface: type[T]) -> T:
    factories: dict[type[Any], Callable[[], Any]] = current_app.extensions.get(_KEY, {})
    try:
        factory = factories[interface]
    except KeyError:
        raise ServiceMissing(f"no service registered for {interface.__qualname__}") from None
    return cast(T, factory())


def has_service(interface: type[Any]) -> bool:
    return interface in current_app.extensions.get(_KEY, {})
