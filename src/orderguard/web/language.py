"""Each user reads the pages in the language they chose (zh-Hans by default).

The choice is kept per user (`UserPreference`), copied into the session when they sign in and
whenever they switch, and activated from the session on every request, so the same person sees
the same language on any browser, with no query per request. Before sign-in the browser's
language (or the language cookie) decides, as Django's LocaleMiddleware does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from orderguard.web.models import UserPreference

SESSION_KEY = "og_language"
LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


class UserLanguageMiddleware:
    """After authentication: the signed-in user's chosen language wins over the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if chosen in LANGUAGE_CODES:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)


@receiver(user_logged_in, dispatch_uid="orderguard.web.language.on_login")
def _on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # a session-only copy of the stored choice, so that no request needs a query for it
    if request is None:
        return
    language = UserPreference.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    if language in LANGUAGE_CODES:
        request.session[SESSION_KEY] = language


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Switch the pages' language: kept for the signed-in user, and in a cookie for this browser
    (the sign-in page too). An unknown language changes nothing; `next` must stay on this site."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    language = request.POST.get("language", "")
    if language not in LANGUAGE_CODES:
        return response
    if request.user.is_authenticated:
        UserPreference.objects.update_or_create(user_id=request.user.pk, defaults={"language": language})
        request.session[SESSION_KEY] = language
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
