from __future__ import annotations


def test_security_headers_and_health(client):
    r = client.get("/healthz")
    assert r.json() == {"status": "ok"}
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_readyz_reports_schema(client):
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


def test_metrics_are_prometheus_text(client):
    client.get("/healthz")
    r = client.get("/metrics")
    assert "cityos_http_requests_total" in r.text


def test_api_404_is_json_with_both_languages(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    body = r.json()["error"]
    assert body["code"] == "not_found" and body["message"]["zh-CN"] == "页面不存在"
    assert body["message"]["en"] == "Page not found"


def test_html_404_is_a_friendly_page(client):
    r = client.get("/no-such-page", headers={"accept": "text/html"})
    assert r.status_code == 404 and "页面不存在" in r.text and "<html" in r.text


def test_login_page_in_chinese_and_english(client):
    assert "登录城市操作系统" in client.get("/login").text
    r = client.get("/lang/en?next=/login")
    assert "Log in to CityOS" in r.text


def test_pages_redirect_anonymous_to_login(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
