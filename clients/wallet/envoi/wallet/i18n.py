"""The pages' words in French (the default, as the service it follows) and English."""

from __future__ import annotations

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LOCALES = {"fr": "fr_FR", "en": "en_GB"}

MESSAGES = {
    "fr": {
        "app": "envoi",
        "tagline": "Votre porte-monnaie envoi",
        "sign_in": "Se connecter avec X",
        "sign_out": "Se déconnecter",
        "signed_in_as": "Connecté en tant que @{handle}",
        "switch_language": "English",
        "balance": "Solde",
        "held": "Réservé",
        "available": "Disponible",
        "pending": "Paiements à confirmer",
        "nothing_pending": "Aucun paiement n'attend votre code.",
        "to_confirm": "Confirmer {amount} pour {payee}",
        "history": "Historique",
        "no_history": "Aucune opération pour l'instant.",
        "older": "Opérations plus anciennes",
        "newest": "Retour aux plus récentes",
        "live": "Mises à jour en direct",
        "confirm_title": "Confirmer le paiement",
        "confirm_intro": "Vous envoyez {amount} à {payee}.",
        "requested_intro": "{payee} vous demande {amount}.",
        "code": "Votre code à 6 chiffres",
        "confirm": "Confirmer",
        "decline": "Annuler ce paiement",
        "confirmed": "Paiement de {amount} confirmé.",
        "declined": "Paiement annulé : rien n'a été envoyé.",
        "not_pending": "Ce paiement n'attend plus de confirmation.",
        "not_found": "Ce paiement n'existe pas ou ne vous concerne pas.",
        "invalid_code": "Code incorrect.",
        "code_locked": "Trop d'essais : votre code est bloqué. "
        "Contactez le support pour le réinitialiser.",
        "insufficient_funds": "Solde insuffisant.",
        "try_again": "Le service est momentanément indisponible ; réessayez.",
        "welcome_title": "Bienvenue",
        "welcome_intro": "Bienvenue @{handle} ! Choisissez le code à 6 chiffres "
        "qui confirmera vos paiements.",
        "new_code": "Code à 6 chiffres",
        "new_code_again": "Le même code, encore une fois",
        "open_account": "Ouvrir mon compte",
        "code_format": "Le code fait exactement 6 chiffres.",
        "codes_differ": "Les deux codes diffèrent.",
        "sign_in_failed": "La connexion avec X a échoué ; recommencez.",
        "csrf": "Le formulaire a expiré ; recommencez.",
        "from": "de {who}",
        "to": "à {who}",
        "received_live": "Reçu {amount} de {who}",
        "state_PENDING_CONFIRMATION": "à confirmer",
        "state_COMPLETED": "effectué",
        "state_CANCELLED": "annulé",
        "state_EXPIRED": "expiré",
        "state_AWAITING_CLAIM": "en attente du bénéficiaire",
        "state_REFUNDED": "remboursé",
        "state_REQUESTED": "demandé",
        "someone": "quelqu'un",
        "collection": "la cagnotte",
        "skip": "Aller au contenu",
    },
    "en": {
        "app": "envoi",
        "tagline": "Your envoi wallet",
        "sign_in": "Sign in with X",
        "sign_out": "Sign out",
        "signed_in_as": "Signed in as @{handle}",
        "switch_language": "Français",
        "balance": "Balance",
        "held": "Held",
        "available": "Available",
        "pending": "Payments to confirm",
        "nothing_pending": "No payment is waiting for your code.",
        "to_confirm": "Confirm {amount} to {payee}",
        "history": "History",
        "no_history": "Nothing yet.",
        "older": "Older",
        "newest": "Back to the newest",
        "live": "Live updates",
        "confirm_title": "Confirm the payment",
        "confirm_intro": "You are sending {amount} to {payee}.",
        "requested_intro": "{payee} asks you for {amount}.",
        "code": "Your 6-digit code",
        "confirm": "Confirm",
        "decline": "Cancel this payment",
        "confirmed": "Payment of {amount} confirmed.",
        "declined": "Payment cancelled: nothing was sent.",
        "not_pending": "This payment no longer waits for a confirmation.",
        "not_found": "This payment does not exist or is not yours.",
        "invalid_code": "Wrong code.",
        "code_locked": "Too many tries: your code is locked. Contact support to reset it.",
        "insufficient_funds": "Not enough money available.",
        "try_again": "The service is unavailable for a moment; try again.",
        "welcome_title": "Welcome",
        "welcome_intro": "Welcome @{handle}! Choose the 6-digit code "
        "that will confirm your payments.",
        "new_code": "6-digit code",
        "new_code_again": "The same code again",
        "open_account": "Open my account",
        "code_format": "The code is exactly 6 digits.",
        "codes_differ": "The two codes differ.",
        "sign_in_failed": "Signing in with X failed; start again.",
        "csrf": "The form expired; start again.",
        "from": "from {who}",
        "to": "to {who}",
        "received_live": "Received {amount} from {who}",
        "state_PENDING_CONFIRMATION": "to confirm",
        "state_COMPLETED": "done",
        "state_CANCELLED": "cancelled",
        "state_EXPIRED": "expired",
        "state_AWAITING_CLAIM": "waiting for its recipient",
        "state_REFUNDED": "refunded",
        "state_REQUESTED": "requested",
        "someone": "someone",
        "collection": "the collection",
        "skip": "Skip to content",
    },
}


def language(value: object) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translator(lang: str):
    """t(key, **values) in the language, for templates and handlers."""
    words = MESSAGES[language(lang)]

    def t(key: str, **values) -> str:
        return words[key].format(**values) if values else words[key]

    return t
