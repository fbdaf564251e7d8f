#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Mosquitto (127.0.0.1:1883) are up.
# In CI they must be: the PostgreSQL and MQTT tests run there and never skip.
# Off CI a missing service only means those tests skip with a reason.
set -uo pipefail
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  elif [ "${CI:-}" = "true" ]; then
    echo "Installing PostgreSQL"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  fi
fi
if ! port_open 1883; then
  if ! command -v mosquitto >/dev/null 2>&1 && [ "${CI:-}" = "true" ]; then
    echo "Installing Mosquitto"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto >/dev/null
  fi
  if command -v mosquitto >/dev/null 2>&1; then
    echo "Starting Mosquitto"
    if [ -f /etc/mosquitto/mosquitto.conf ]; then $SUDO mosquitto -d -c /etc/mosquitto/mosquitto.conf; else $SUDO mosquitto -d -p 1883; fi
  fi
fi
for i in $(seq 1 30); do port_open 5432 && port_open 1883 && break; sleep 1; done
if [ "${CI:-}" = "true" ]; then
  port_open 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
  port_open 1883 || { echo "Mosquitto is not reachable on 127.0.0.1:1883" >&2; exit 1; }
fi
exit 0
