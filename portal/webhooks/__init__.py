"""Procore webhooks: the receiver (receiver.py), the inbox worker (jobs.py), hook health
(health.py), one-click repair (repair.py), pages (views.py) and `flask webhooks` (cli.py).

SPEC R8, R11, R12, D3; RELIABILITY 1-8 and 23.
"""


def init_app(app) -> None:
    """Register the receiver, the webhook pages and `flask webhooks` (called by create_app)."""
    from portal.webhooks import cli, receiver, views

    app.register_blueprint(receiver.bp)
    app.register_blueprint(views.bp)
    cli.register(app)
