from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "orderguard.web"
    label = "web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orderguard.web import language  # noqa: F401  (connects the sign-in receiver)
