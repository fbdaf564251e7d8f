"""The outbound channel: how a message leaves CityOS for a person's phone, 政务微信 or mailbox.

A deployment plugs in its gateway by naming a factory in `CITYOS_NOTIFY_CHANNEL`
("package.module:factory", called with no arguments, returning an object with `send`); the
default, "logging", writes each message to the `cityos.notify.outbound` log, so nothing is lost and
nothing leaves the machine until a gateway is configured. The callback to a case's reporter
(回访: the case is closed) goes through it.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

log = logging.getLogger("cityos.notify.outbound")


@dataclass(frozen=True)
class Recipient:
    """Whom to reach: a user of CityOS and/or a phone number (a hotline caller may have no account)."""

    user_id: int | None = None
    name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class OutboundMessage:
    kind: str
    title: str
    body: str
    link: str | None = None


@runtime_checkable
class Channel(Protocol):
    def send(self, recipient: Recipient, message: OutboundMessage) -> None:
        """Deliver or hand over the message; raise to have the event redelivered later."""


class LoggingChannel:
    """The default: one INFO line per message with the recipient, so an operator can see what an
    SMS gateway would have sent. Phone numbers are partly hidden in the log."""

    def send(self, recipient: Recipient, message: OutboundMessage) -> None:
        phone = recipient.phone
        shown = phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else ("*" * len(phone))
        log.info(
            "outbound %s to user=%s phone=%s: %s — %s",
            message.kind,
            recipient.user_id if recipient.user_id is not None else "-",
            shown or "-",
            message.title,
            message.body,
            extra={"notify_kind": message.kind, "notify_user": recipient.user_id},
        )


_installed: Channel | None = None


def use_channel(channel: Channel | None) -> None:
    """Install a channel for this process (a deployment's startup code may call this instead of
    setting CITYOS_NOTIFY_CHANNEL)."""
    global _installed
    _installed = channel


def configured_channel() -> Channel:
    """The installed channel, else the one CITYOS_NOTIFY_CHANNEL names, else the logging one."""
    if _installed is not None:
        return _installed
    spec = os.environ.get("CITYOS_NOTIFY_CHANNEL", "logging").strip()
    if spec in ("", "logging"):
        return LoggingChannel()
    module, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"CITYOS_NOTIFY_CHANNEL must be 'logging' or 'package.module:factory', not {spec!r}")
    factory = getattr(importlib.import_module(module), attr)
    channel = factory()
    if not isinstance(channel, Channel):
        raise TypeError(f"{spec} did not return an object with send(recipient, message)")
    return channel
