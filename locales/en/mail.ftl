# The confirmation mail a signup sends. $site is the site's name, $hours
# how long the link stays valid.

confirm-mail-subject = Confirm your { $site } digest subscription
confirm-mail-intro = Someone, probably you, asked to get the { $site } digest at this address.
# The text part: the link follows on the next line.
confirm-mail-action-text = To confirm, open this link within { PLURAL($hours) ->
    [one] { $hours } hour
   *[other] { $hours } hours
}:
# The HTML part: the text of the link.
confirm-mail-action-html = Confirm your subscription
confirm-mail-validity = (valid { PLURAL($hours) ->
    [one] { $hours } hour
   *[other] { $hours } hours
})
confirm-mail-ignore = If it wasn't you, ignore this message: nothing will be sent.
