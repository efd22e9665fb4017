"""The words of the default dunning templates and of the customer's decline reason, per language
(data; ``templates`` builds the defaults from it). English is what merchants see and copy in the
editor; the other languages are only sent, to a customer whose ``customerLocale`` is one of them,
and only while a step uses a default template unedited. Merchant-written templates are never
translated.

Each template: (subject, body HTML, preheader, button). ``note`` and ``signoff`` close every
default. Jinja variables stay as they are: amounts are formatted for the customer's language by
``formatting``.
"""

from __future__ import annotations

TEMPLATE_TEXTS: dict[str, dict] = {
    "en": {
        "note": "This link is personal and works once. If you have already sorted this out, please\n"
                "ignore this email.",
        "signoff": "Thank you,<br>The {{ merchant_name }} team",
        "soft_decline": (
            "Your {{ merchant_name }} payment of {{ amount }} didn't go through",
            "<p>We tried to charge {{ amount_with_currency }} for your {{ merchant_name }} subscription, "
            "but the payment didn't go through.</p>\n<p>We'll try again automatically. To make sure your "
            "subscription continues without interruption, you can check or update your card now.</p>",
            "We'll try again automatically. You can check your card now.",
            "Update your card",
        ),
        "new_card": (
            "Action needed: update your card for {{ merchant_name }}",
            "<p>Your card was declined when we tried to charge {{ amount_with_currency }} for your "
            "{{ merchant_name }} subscription, and it can't be charged again.</p>\n<p>Please add a new card "
            "to keep your subscription active. It only takes a minute.</p>",
            "Your card can't be charged again: add a new one in a minute.",
            "Add a new card",
        ),
        "authentication": (
            "Please confirm your {{ merchant_name }} payment of {{ amount }}",
            "<p>Your bank asked for extra confirmation before it approves the {{ amount_with_currency }} "
            "payment for your {{ merchant_name }} subscription.</p>\n<p>Please confirm your card details "
            "so we can complete the payment.</p>",
            "Your bank needs you to confirm this payment.",
            "Confirm your payment",
        ),
    },
    "fr": {
        "note": "Ce lien vous est personnel et ne fonctionne qu'une seule fois. Si vous avez déjà réglé "
                "la situation, vous pouvez ignorer cet e-mail.",
        "signoff": "Merci,<br>L'équipe {{ merchant_name }}",
        "soft_decline": (
            "Votre paiement de {{ amount }} pour {{ merchant_name }} n'a pas abouti",
            "<p>Nous avons tenté de prélever {{ amount_with_currency }} pour votre abonnement "
            "{{ merchant_name }}, mais le paiement n'a pas abouti.</p>\n<p>Nous réessaierons "
            "automatiquement. Pour que votre abonnement se poursuive sans interruption, vous pouvez dès "
            "maintenant vérifier ou mettre à jour votre carte.</p>",
            "Nous réessaierons automatiquement. Vous pouvez vérifier votre carte dès maintenant.",
            "Mettre à jour votre carte",
        ),
        "new_card": (
            "Action requise : mettez à jour votre carte pour {{ merchant_name }}",
            "<p>Votre carte a été refusée lorsque nous avons tenté de prélever {{ amount_with_currency }} "
            "pour votre abonnement {{ merchant_name }}, et elle ne peut plus être débitée.</p>\n<p>Veuillez "
            "ajouter une nouvelle carte pour que votre abonnement reste actif. Cela ne prend qu'une "
            "minute.</p>",
            "Votre carte ne peut plus être débitée : ajoutez-en une nouvelle en une minute.",
            "Ajouter une nouvelle carte",
        ),
        "authentication": (
            "Veuillez confirmer votre paiement de {{ amount }} pour {{ merchant_name }}",
            "<p>Votre banque demande une confirmation supplémentaire avant d'approuver le paiement de "
            "{{ amount_with_currency }} pour votre abonnement {{ merchant_name }}.</p>\n<p>Veuillez "
            "confirmer les informations de votre carte afin que nous puissions finaliser le paiement.</p>",
            "Votre banque a besoin que vous confirmiez ce paiement.",
            "Confirmer le paiement",
        ),
    },
    "de": {
        "note": "Dieser Link ist persönlich und funktioniert nur einmal. Falls Sie das bereits erledigt "
                "haben, können Sie diese E-Mail ignorieren.",
        "signoff": "Vielen Dank<br>Ihr Team von {{ merchant_name }}",
        "soft_decline": (
            "Ihre Zahlung über {{ amount }} für {{ merchant_name }} ist fehlgeschlagen",
            "<p>Wir haben versucht, {{ amount_with_currency }} für Ihr Abonnement bei {{ merchant_name }} "
            "abzubuchen, aber die Zahlung ist fehlgeschlagen.</p>\n<p>Wir versuchen es automatisch "
            "erneut. Damit Ihr Abonnement ohne Unterbrechung weiterläuft, können Sie Ihre Karte jetzt "
            "prüfen oder aktualisieren.</p>",
            "Wir versuchen es automatisch erneut. Sie können Ihre Karte jetzt prüfen.",
            "Karte aktualisieren",
        ),
        "new_card": (
            "Aktion erforderlich: Bitte aktualisieren Sie Ihre Karte für {{ merchant_name }}",
            "<p>Ihre Karte wurde abgelehnt, als wir versucht haben, {{ amount_with_currency }} für Ihr "
            "Abonnement bei {{ merchant_name }} abzubuchen, und sie kann nicht erneut belastet "
            "werden.</p>\n<p>Bitte hinterlegen Sie eine neue Karte, damit Ihr Abonnement aktiv bleibt. "
            "Das dauert nur eine Minute.</p>",
            "Ihre Karte kann nicht mehr belastet werden: Hinterlegen Sie in einer Minute eine neue.",
            "Neue Karte hinzufügen",
        ),
        "authentication": (
            "Bitte bestätigen Sie Ihre Zahlung über {{ amount }} für {{ merchant_name }}",
            "<p>Ihre Bank verlangt eine zusätzliche Bestätigung, bevor sie die Zahlung über "
            "{{ amount_with_currency }} für Ihr Abonnement bei {{ merchant_name }} freigibt.</p>\n"
            "<p>Bitte bestätigen Sie Ihre Kartendaten, damit wir die Zahlung abschließen können.</p>",
            "Ihre Bank benötigt Ihre Bestätigung für diese Zahlung.",
            "Zahlung bestätigen",
        ),
    },
    "es": {  # tú, as on the Spanish card-update page and in the email layout
        "note": "Este enlace es personal y solo funciona una vez. Si ya lo has resuelto, puedes ignorar "
                "este correo.",
        "signoff": "Gracias,<br>El equipo de {{ merchant_name }}",
        "soft_decline": (
            "No se ha podido completar tu pago de {{ amount }} a {{ merchant_name }}",
            "<p>Hemos intentado cobrar {{ amount_with_currency }} por tu suscripción a "
            "{{ merchant_name }}, pero no se ha podido completar el pago.</p>\n<p>Volveremos a "
            "intentarlo automáticamente. Para que tu suscripción continúe sin interrupciones, puedes "
            "revisar o actualizar tu tarjeta ahora.</p>",
            "Volveremos a intentarlo automáticamente. Puedes revisar tu tarjeta ahora.",
            "Actualizar tu tarjeta",
        ),
        "new_card": (
            "Acción necesaria: actualiza tu tarjeta para {{ merchant_name }}",
            "<p>Tu tarjeta fue rechazada cuando intentamos cobrar {{ amount_with_currency }} por tu "
            "suscripción a {{ merchant_name }}, y no se puede volver a cargar.</p>\n<p>Añade una nueva "
            "tarjeta para mantener activa tu suscripción. Solo te llevará un minuto.</p>",
            "No se puede volver a cargar tu tarjeta: añade una nueva en un minuto.",
            "Añadir una nueva tarjeta",
        ),
        "authentication": (
            "Confirma tu pago de {{ amount }} a {{ merchant_name }}",
            "<p>Tu banco ha solicitado una confirmación adicional antes de aprobar el pago de "
            "{{ amount_with_currency }} de tu suscripción a {{ merchant_name }}.</p>\n<p>Confirma los "
            "datos de tu tarjeta para que podamos completar el pago.</p>",
            "Tu banco necesita que confirmes este pago.",
            "Confirmar el pago",
        ),
    },
}

# The catalogue's plain English is written for merchants ("Retry near payday"); an email to the
# customer says what happened to *their* payment and what helps, by the decline's code or category.
REASONS_BY_CODE: dict[str, dict[str, str]] = {
    "en": {
        "insufficient_funds": "Your bank declined the payment because the account didn't have enough "
                              "funds at the time.",
        "expired_card": "The card on file has expired.",
        "incorrect_number": "The card number on file isn't valid any more.",
        "invalid_expiry_date": "The expiry date on file for your card isn't valid.",
        "incorrect_cvc": "Your bank couldn't verify the card's security code.",
        "lost_card": "The card on file has been reported lost or replaced.",
        "stolen_card": "The card on file has been reported lost or replaced.",
        "card_not_supported": "The card on file can't be used for this kind of payment.",
    },
    "fr": {
        "insufficient_funds": "Votre banque a refusé le paiement car le compte n'était pas "
                              "suffisamment approvisionné à ce moment-là.",
        "expired_card": "La carte enregistrée a expiré.",
        "incorrect_number": "Le numéro de la carte enregistrée n'est plus valide.",
        "invalid_expiry_date": "La date d'expiration enregistrée pour votre carte n'est pas valide.",
        "incorrect_cvc": "Votre banque n'a pas pu vérifier le code de sécurité de la carte.",
        "lost_card": "La carte enregistrée a été déclarée perdue ou remplacée.",
        "stolen_card": "La carte enregistrée a été déclarée perdue ou remplacée.",
        "card_not_supported": "La carte enregistrée ne peut pas être utilisée pour ce type de paiement.",
    },
    "de": {
        "insufficient_funds": "Ihre Bank hat die Zahlung abgelehnt, weil das Konto zu diesem "
                              "Zeitpunkt nicht ausreichend gedeckt war.",
        "expired_card": "Die hinterlegte Karte ist abgelaufen.",
        "incorrect_number": "Die hinterlegte Kartennummer ist nicht mehr gültig.",
        "invalid_expiry_date": "Das hinterlegte Ablaufdatum Ihrer Karte ist ungültig.",
        "incorrect_cvc": "Ihre Bank konnte den Sicherheitscode der Karte nicht prüfen.",
        "lost_card": "Die hinterlegte Karte wurde als verloren gemeldet oder ersetzt.",
        "stolen_card": "Die hinterlegte Karte wurde als verloren gemeldet oder ersetzt.",
        "card_not_supported": "Die hinterlegte Karte kann für diese Art von Zahlung nicht verwendet "
                              "werden.",
    },
    "es": {
        "insufficient_funds": "Tu banco rechazó el pago porque la cuenta no tenía fondos suficientes "
                              "en ese momento.",
        "expired_card": "La tarjeta registrada ha caducado.",
        "incorrect_number": "El número de la tarjeta registrada ya no es válido.",
        "invalid_expiry_date": "La fecha de caducidad registrada de tu tarjeta no es válida.",
        "incorrect_cvc": "Tu banco no pudo verificar el código de seguridad de la tarjeta.",
        "lost_card": "La tarjeta registrada se ha notificado como perdida o ha sido sustituida.",
        "stolen_card": "La tarjeta registrada se ha notificado como perdida o ha sido sustituida.",
        "card_not_supported": "La tarjeta registrada no se puede usar para este tipo de pago.",
    },
}
REASONS_BY_CATEGORY: dict[str, dict[str, str]] = {
    "en": {
        "soft": "Your bank declined the payment. This is often temporary, but a different card avoids "
                "further interruptions.",
        "hard": "Your bank declined the payment and the card on file can't be charged again.",
        "auth_required": "Your bank needs you to confirm this payment before it is approved.",
        "fraud": "Your bank declined the payment. Please contact your bank, or use a different card.",
        "technical": "The payment couldn't be completed because of a temporary problem with the "
                     "payment network.",
        "unknown": "The payment didn't go through.",
    },
    "fr": {
        "soft": "Votre banque a refusé le paiement. C'est souvent temporaire, mais une autre carte "
                "évite de nouvelles interruptions.",
        "hard": "Votre banque a refusé le paiement et la carte enregistrée ne peut plus être débitée.",
        "auth_required": "Votre banque a besoin que vous confirmiez ce paiement avant de l'approuver.",
        "fraud": "Votre banque a refusé le paiement. Veuillez contacter votre banque ou utiliser une "
                 "autre carte.",
        "technical": "Le paiement n'a pas pu être effectué en raison d'un problème temporaire du "
                     "réseau de paiement.",
        "unknown": "Le paiement n'a pas abouti.",
    },
    "de": {
        "soft": "Ihre Bank hat die Zahlung abgelehnt. Das ist oft nur vorübergehend, aber mit einer "
                "anderen Karte vermeiden Sie weitere Unterbrechungen.",
        "hard": "Ihre Bank hat die Zahlung abgelehnt, und die hinterlegte Karte kann nicht erneut "
                "belastet werden.",
        "auth_required": "Ihre Bank benötigt Ihre Bestätigung, bevor sie diese Zahlung freigibt.",
        "fraud": "Ihre Bank hat die Zahlung abgelehnt. Bitte wenden Sie sich an Ihre Bank oder "
                 "verwenden Sie eine andere Karte.",
        "technical": "Die Zahlung konnte wegen eines vorübergehenden Problems im Zahlungsnetzwerk "
                     "nicht abgeschlossen werden.",
        "unknown": "Die Zahlung ist fehlgeschlagen.",
    },
    "es": {
        "soft": "Tu banco rechazó el pago. Suele ser algo temporal, pero con otra tarjeta evitarás "
                "nuevas interrupciones.",
        "hard": "Tu banco rechazó el pago y no se puede volver a cargar la tarjeta registrada.",
        "auth_required": "Tu banco necesita que confirmes este pago antes de aprobarlo.",
        "fraud": "Tu banco rechazó el pago. Ponte en contacto con tu banco o usa otra tarjeta.",
        "technical": "No se ha podido completar el pago por un problema temporal de la red de pago.",
        "unknown": "No se ha podido completar el pago.",
    },
}
