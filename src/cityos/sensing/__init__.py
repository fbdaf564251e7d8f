"""城市感知: devices and cameras, telemetry over MQTT/HTTP/NGSI-LD, rules, alarms that open cases."""
