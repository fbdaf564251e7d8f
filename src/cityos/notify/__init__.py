"""Notifications: the in-app message centre and the outbound channel (SMS gateway, 政务微信, email)."""
