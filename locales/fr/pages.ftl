# Les pages : inscription, confirmation, désabonnement, préférences,
# archives et erreurs. Variables as in en/pages.ftl.

page-title = { $title } · { $site }

## Signup

page-signup-title = Recevoir la lettre
page-signup-message = L’essentiel de l’actualité dans votre boîte de réception, une fois par jour ou une fois par semaine.
page-signup-email = Adresse e-mail
page-signup-name = Nom (facultatif)
page-signup-honeypot = Laissez ce champ vide
page-signup-sections = Rubriques (aucune cochée : toutes)
page-signup-frequency = Fréquence
page-signup-submit = S’abonner
page-signup-done-title = Consultez votre boîte de réception
page-signup-done-message = Si cette adresse peut recevoir notre lettre, un message contenant un lien de confirmation est en route. Ce lien est valable { PLURAL($hours) ->
    [one] une heure
   *[other] { $hours } heures
}.
page-signup-bad-address-title = Vérifiez l’adresse
page-signup-bad-address-message = Cela ne ressemble pas à une adresse e-mail.
page-signup-tz-found = Fuseau horaire : { $zone }, d’après votre navigateur. Vous pourrez le modifier lors de la confirmation.

## Confirmation

page-confirm-title = Confirmez votre abonnement
page-confirm-message = Confirmez que { $email } souhaite recevoir la lettre de { $site }.
page-confirm-hint = Vérifiez l’heure d’arrivée de votre lettre ; vous pourrez la modifier plus tard depuis n’importe quelle lettre.
page-confirm-submit = Confirmer mon abonnement
page-confirm-already-title = Abonnement déjà confirmé
page-confirm-already-message = { $email } reçoit déjà notre lettre.
page-confirm-expired-title = Lien expiré
page-confirm-expired-message = Ce lien de confirmation a expiré. Inscrivez-vous de nouveau pour en recevoir un autre.
page-confirmed-title = Abonnement confirmé
page-confirmed-message = { $frequency ->
    [weekly] { $email } recevra notre lettre hebdomadaire à { $time } (heure de { $timezone }).
   *[daily] { $email } recevra notre lettre quotidienne à { $time } (heure de { $timezone }).
}
page-confirm-unknown-message = Ce lien de confirmation n’est pas valide, ou il a déjà été utilisé. Si vous n’avez pas encore confirmé, inscrivez-vous de nouveau pour en recevoir un autre.

## Unsubscribe

page-unsubscribe-title = Se désabonner ?
page-unsubscribe-message = { $frequency ->
    [weekly] Ne plus envoyer la lettre hebdomadaire à { $email } ?
   *[daily] Ne plus envoyer la lettre quotidienne à { $email } ?
}
page-unsubscribe-submit = Désabonner { $email }
page-unsubscribe-weekly-offer = Trop d’e-mails ? Vous pouvez ne recevoir qu’une lettre par semaine.
page-unsubscribe-weekly-submit = Passer à la lettre hebdomadaire
page-unsubscribe-pause-submit = Suspendre pendant deux semaines
page-unsubscribe-invalid = List-Unsubscribe=One-Click ou un choix de la page de désabonnement était attendu.
page-unsubscribed-title = Désabonnement confirmé
page-unsubscribed-message = { $email } ne recevra plus notre lettre. Nous regrettons de vous voir partir.
page-unsubscribed-already-message = { $email } ne reçoit plus notre lettre.
page-paused-title = Lettre suspendue pendant deux semaines
page-paused-message = { $email } ne recevra aucune lettre jusqu’au { $date }.
page-weekly-title = Ce sera donc une fois par semaine
page-weekly-message = { $email } recevra désormais une lettre par semaine.

## Preferences

page-preferences-title = Votre lettre
page-preferences-message = Préférences de { $email }.
page-preferences-frequency = Fréquence
page-preferences-daily = Tous les jours
page-preferences-weekly = Une fois par semaine
page-preferences-hour = Heure d’envoi
page-preferences-timezone = Fuseau horaire
page-preferences-timezone-hint = Votre lettre arrive à l’heure choisie dans ce fuseau.
page-preferences-topics = Rubriques, séparées par des virgules (vide pour toutes)
page-preferences-language = Langue
page-preferences-language-site = La langue du site ({ $language })
page-preferences-submit = Enregistrer
page-preferences-invalid-title = Veuillez vérifier le formulaire
page-preferences-invalid-field = { $field } : { $reason }
page-reason-timezone = ce fuseau horaire nous est inconnu ; choisissez-en un dans la liste.
page-reason-hour = choisissez une heure entre 00:00 et 23:00.
page-reason-frequency = choisissez « Tous les jours » ou « Une fois par semaine ».
page-reason-topics = une rubrique est trop longue (64 caractères au plus) ou contient un point-virgule.
page-reason-language = choisissez une langue dans la liste.
page-preferences-saved-title = Enregistré
page-preferences-saved-message = { $frequency ->
    [weekly] { $email } recevra la lettre hebdomadaire à { $time } (heure de { $timezone }).
   *[daily] { $email } recevra la lettre quotidienne à { $time } (heure de { $timezone }).
}

## Archive and the digest in a browser

page-archive-title = Archives
page-archive-feed-title = { $site } : archives de la lettre
page-archive-empty = Aucune lettre n’a encore été envoyée.
page-archive-feed = Flux Atom
page-archive-subscribe = Recevoir la lettre par e-mail
page-archive-all = Toutes les éditions
page-archive-frequency = { $frequency ->
    [weekly] Lettre hebdomadaire
   *[daily] Lettre quotidienne
}
page-archive-edition-title = { $frequency ->
    [weekly] Lettre hebdomadaire du { $date }
   *[daily] Lettre quotidienne du { $date }
}
page-archive-edition-note = Les articles que tous les lecteurs ont reçus, toutes rubriques confondues.
page-archive-edition-empty = Cette édition ne contenait aucun article.
page-archive-stories = { PLURAL($count) ->
    [one] { $count } article
   *[other] { $count } articles
}
page-archive-newer = Plus récentes
page-archive-older = Plus anciennes
page-view-in-browser = Voir dans le navigateur
page-view-missing-title = Lettre introuvable
page-view-missing-message = Nous n’avons pas de lettre du { $date } pour cette adresse. Le lien est peut-être incomplet : essayez de copier le lien entier depuis l’e-mail.
page-view-expired-title = Plus disponible en ligne
page-view-expired-message = Désolés, la lettre du { $date } n’est plus conservée en ligne : nous gardons les lettres de chaque lecteur pendant { PLURAL($days) ->
    [one] un jour
   *[other] { $days } jours
}.
page-view-expired-archive-message = Désolés, la lettre du { $date } n’est plus conservée en ligne : nous gardons les lettres de chaque lecteur pendant { PLURAL($days) ->
    [one] un jour
   *[other] { $days } jours
}. Ses articles restent consultables dans les archives.

## Errors

page-not-found-title = Lien non valide
page-not-found-message = Ce lien n’est pas valide. Il est peut-être incomplet : essayez de copier le lien entier depuis l’e-mail.
page-no-such-page-title = Page introuvable
page-no-such-page-message = Cette page n’existe pas.
page-bad-request-title = Requête incorrecte
page-bad-form = Cette requête ne contenait pas de formulaire lisible.
page-bad-form-type = Un formulaire (application/x-www-form-urlencoded ou multipart/form-data) était attendu.
page-too-large-title = Requête trop volumineuse
page-too-large-message = Cette requête était trop volumineuse.
page-too-many-title = Trop de requêtes
page-too-many-message = Veuillez réessayer plus tard.
page-internal-title = Une erreur s’est produite
page-internal-message = Veuillez réessayer dans quelques minutes.

## Languages and time zones

language-name = Français
zone-region-africa = Afrique
zone-region-america = Amériques
zone-region-antarctica = Antarctique
zone-region-arctic = Arctique
zone-region-asia = Asie
zone-region-atlantic = Atlantique
zone-region-australia = Australie
zone-region-europe = Europe
zone-region-indian = Océan Indien
zone-region-pacific = Pacifique
zone-region-other = Autres
