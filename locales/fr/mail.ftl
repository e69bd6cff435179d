# Le message de confirmation d’une inscription.
# The confirmation mail. $site is the site's name, $hours how long the
# link stays valid.

confirm-mail-subject = Confirmez votre abonnement à la lettre de { $site }
confirm-mail-intro = Quelqu’un, probablement vous, a demandé à recevoir la lettre de { $site } à cette adresse.
confirm-mail-action-text = Pour confirmer, ouvrez ce lien { PLURAL($hours) ->
    [one] dans l’heure
   *[other] dans les { $hours } heures
} :
confirm-mail-action-html = Confirmer votre abonnement
confirm-mail-validity = ({ PLURAL($hours) ->
    [one] valable une heure
   *[other] valable { $hours } heures
})
confirm-mail-ignore = Si ce n’était pas vous, ignorez ce message : rien ne vous sera envoyé.
