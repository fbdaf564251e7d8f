#!/usr/bin/env bash
# Debian packages the test suite needs: chromium (driven by Playwright through executable_path;
# Playwright never downloads a browser here) and a CJK font.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# a CJK font, so the browser tests and screenshots render Chinese instead of empty boxes
fc-list 2>/dev/null | grep -qi "wqy\|noto sans cjk" || need+=(fonts-wqy-microhei)
# pdftotext: the cockpit report test reads the PDF it wrote
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
# a Java runtime for pyspark (the registries' cross-checks on Spark, tested against DuckDB)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
