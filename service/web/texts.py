"""The page's own words, per locale. The policy's texts (why, what each method sees and keeps,
sanction messages) come from the policy; these frame them. Every locale has every key: a test
fails when one lacks one (tests/web/test_page_texts.py)."""

from __future__ import annotations

from collections.abc import Mapping

from service.web.texts_more import MORE

# Locales written right to left: the page sets dir="rtl" for them.
RTL = frozenset({"ar", "fa", "he", "ur"})

EN: Mapping[str, str] = {
    "title": "Age check",
    "skip": "Skip to the main content",
    "language": "Language",
    "why": "Why you are asked",
    "keeps": "What is kept",
    "ways": "Ways to show your age",
    "ways_intro": "They are offered in this order. If one cannot tell your age band, the next one is offered.",
    "next": "Your next step",
    "expires": "This page works until {time} (UTC).",
    "attempts_left": "Attempts left: {n}",
    "declare_label": "Your year of birth",
    "declare_hint": "Four digits, for example 1990.",
    "continue": "Continue",
    "photo_label": "A selfie",
    "photo_hint": "Choose or take a photo of your face. It is used for this check only and deleted straight away.",
    "photo_send": "Send the photo",
    "camera_start": "Use the camera",
    "camera_take": "Take the photo",
    "camera_denied": "The camera could not be used. You can choose a photo instead.",
    "os_intro": "Your device shares your age range with apps. The app sends it itself: there is nothing to do here.",
    "wallet_intro": "Share only your age from the wallet app on your phone.",
    "wallet_same": "Open my wallet app",
    "wallet_qr": "Or scan this code with the phone that has your wallet:",
    "wallet_qr_label": "QR code that opens your wallet app",
    "wallet_browser": "Use a wallet on this device",
    "wallet_browser_failed": "The wallet did not answer. You can use the link or the code instead.",
    "wallet_done": "I have shared it: show the result",
    "eid_intro": "You log in with your bank or national eID. Only your age is passed on, then you come back here.",
    "eid_go": "Log in",
    "inconclusive": "That could not tell your age band. Please try the next way.",
    "failed_try": "That did not work. Please try another way.",
    "invalid_evidence": "What you sent could not be used. Please check it and try again.",
    "passed_title": "Your age check is done",
    "failed_title": "Your age check did not succeed",
    "your_band": "Your age band: {band}",
    "band_means": "What this means for you",
    "you_can": "{action}: with people {bands}.",
    "you_cannot": "{action}: not allowed.",
    "retry": "You can start a new check from the app later.",
    "appeal": "If you think this is wrong, tell the app: it can ask for a new check with a method that gives more certainty.",
    "back": "Back to the app",
    "cancel": "Cancel and go back to the app",
    "band_under": "under {n}",
    "band_range": "{lo} to {hi}",
    "band_over": "{lo} or older",
    "and": "and",
    "error_title": "This page cannot be shown",
    "error_gone": "This link was already used or has expired. Go back to the app and start again.",
    "error_other": "Something went wrong. Go back to the app and start again.",
    "profile.view": "See profiles",
    "search.include": "Appear in search",
    "suggest.friend": "Be suggested as a friend",
    "contact.request": "Send contact requests",
    "message.send": "Send messages",
    "content.view.adult": "See content for adults",
    "appeal_title": "Contest your age band",
    "appeal_deadline": "You get an answer by {date} at the latest.",
    "appeal_ways": "Only the ways listed below count for an appeal: they give more certainty than the one that set your band.",
    "appeal_offer_intro": "If you think your age band is wrong, you can appeal. Your band stays as it is until a way that gives more certainty shows otherwise.",
    "appeal_offer": "Appeal this result",
    "guardian_title": "Ask a parent or guardian",
    "guardian_offer_intro": "A parent or guardian can confirm your age band in the app. Get a code here and give it to them.",
    "guardian_offer": "Get a code for my parent or guardian",
    "guardian_code_intro": "Give this code to your parent or guardian. They enter it in the app to confirm your age band.",
    "guardian_code_until": "It works once, until {time} (UTC). It is shown only now.",
}

TEXTS: Mapping[str, Mapping[str, str]] = {"en": EN, **MORE}
LOCALES: tuple[str, ...] = tuple(TEXTS)


def texts_for(locale: str | None) -> Mapping[str, str]:
    return TEXTS.get(locale or "en", EN)
