"""The platform's shared machinery: settings, database, clock, working calendar, errors, audit
trail, events (outbox) and i18n. Core depends on no feature module."""
