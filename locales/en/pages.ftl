# The pages a reader reaches from a digest, the signup form and the
# archive. $site is the site's name, $email the reader's address,
# $frequency "daily" or "weekly", $date a formatted date.

# The browser tab: the page's title, then the site.
page-title = { $title } · { $site }

## Signup

page-signup-title = Get the digest
page-signup-message = The top stories, in your inbox once a day or once a week.
page-signup-email = Email address
page-signup-name = Name (optional)
# A field people never see; bots fill it in.
page-signup-honeypot = Leave this empty
page-signup-sections = Sections (none ticked: all of them)
page-signup-frequency = How often
page-signup-submit = Subscribe
page-signup-done-title = Check your inbox
page-signup-done-message = If this address can receive our digest, a message with a confirmation link is on its way. The link is valid for { PLURAL($hours) ->
    [one] { $hours } hour
   *[other] { $hours } hours
}.
page-signup-bad-address-title = Check the address
page-signup-bad-address-message = That does not look like an email address.
# Shown by the page's script instead of the zone picker; $zone is the
# zone the browser reports.
page-signup-tz-found = Time zone: { $zone }, from your browser. You can change it when you confirm.

## Confirmation

page-confirm-title = Confirm your subscription
page-confirm-message = Confirm that { $email } wants the { $site } digest.
page-confirm-hint = Check when your digest should arrive; you can change it later from any digest.
page-confirm-submit = Confirm my subscription
page-confirm-already-title = Already confirmed
page-confirm-already-message = { $email } already gets our digest.
page-confirm-expired-title = Link expired
page-confirm-expired-message = This confirmation link has expired. Sign up again to get a new one.
page-confirmed-title = You are subscribed
# $time is the hour ("07:00"), $timezone the zone's IANA name.
page-confirmed-message = { $frequency ->
    [weekly] { $email } will get our weekly digest at { $time } { $timezone }.
   *[daily] { $email } will get our daily digest at { $time } { $timezone }.
}
page-confirm-unknown-message = This confirmation link is not valid, or it was used already. If you have not confirmed yet, sign up again to get a new one.

## Unsubscribe

page-unsubscribe-title = Unsubscribe?
page-unsubscribe-message = { $frequency ->
    [weekly] Stop sending the weekly digest to { $email }?
   *[daily] Stop sending the daily digest to { $email }?
}
page-unsubscribe-submit = Unsubscribe { $email }
page-unsubscribe-weekly-offer = Too many emails? You can get one digest a week instead.
page-unsubscribe-weekly-submit = Switch to the weekly digest
page-unsubscribe-pause-submit = Pause for two weeks
page-unsubscribe-invalid = Expected List-Unsubscribe=One-Click or a choice from the unsubscribe page.
page-unsubscribed-title = You are unsubscribed
page-unsubscribed-message = { $email } will not receive our digest any more. Sorry to see you go.
page-unsubscribed-already-message = { $email } no longer receives our digest.
page-paused-title = Paused for two weeks
page-paused-message = { $email } will get no digest until { $date }.
page-weekly-title = Weekly it is
page-weekly-message = { $email } will get one digest a week from now on.

## Preferences

page-preferences-title = Your digest
page-preferences-message = Preferences for { $email }.
page-preferences-frequency = How often
page-preferences-daily = Every day
page-preferences-weekly = Once a week
page-preferences-hour = Hour of delivery
page-preferences-timezone = Time zone
page-preferences-timezone-hint = Your digest arrives at the chosen hour in this zone.
page-preferences-topics = Sections, comma-separated (empty for all)
page-preferences-language = Language
# The choice that follows the site's language: $language is its name.
page-preferences-language-site = The site's language ({ $language })
page-preferences-submit = Save
page-preferences-invalid-title = Please check the form
# $field is the field's label, $reason what is wrong with the value.
page-preferences-invalid-field = { $field }: { $reason }
# What is wrong with a field's value ($reason above).
page-reason-timezone = this is not a time zone we know; choose one from the list.
page-reason-hour = choose an hour from 00:00 to 23:00.
page-reason-frequency = choose every day or once a week.
page-reason-topics = a section is too long (64 characters at most) or holds a semicolon.
page-reason-language = choose a language from the list.
page-preferences-saved-title = Saved
page-preferences-saved-message = { $frequency ->
    [weekly] { $email } will get the weekly digest at { $time } { $timezone }.
   *[daily] { $email } will get the daily digest at { $time } { $timezone }.
}

## Archive and the digest in a browser

page-archive-title = Archive
page-archive-feed-title = { $site }: digest archive
page-archive-empty = No digest has gone out yet.
page-archive-feed = Atom feed
page-archive-subscribe = Get the digest by email
page-archive-all = All editions
page-archive-frequency = { $frequency ->
    [weekly] Weekly digest
   *[daily] Daily digest
}
page-archive-edition-title = { $frequency ->
    [weekly] Weekly digest, { $date }
   *[daily] Daily digest, { $date }
}
page-archive-edition-note = The stories every reader got, across all sections.
page-archive-edition-empty = This edition had no stories.
page-archive-stories = { PLURAL($count) ->
    [one] { $count } story
   *[other] { $count } stories
}
page-archive-newer = Newer
page-archive-older = Older
page-view-in-browser = View in browser
page-view-missing-title = Digest not found
page-view-missing-message = We have no digest of { $date } for this address. The link may be incomplete: try copying the whole link from the email.
page-view-expired-title = No longer online
page-view-expired-message = Sorry, the digest of { $date } is no longer kept online: we keep each reader's digests for { PLURAL($days) ->
    [one] { $days } day
   *[other] { $days } days
}.
page-view-expired-archive-message = Sorry, the digest of { $date } is no longer kept online: we keep each reader's digests for { PLURAL($days) ->
    [one] { $days } day
   *[other] { $days } days
}. Its stories are still in the archive.

## Errors

page-not-found-title = Link not valid
page-not-found-message = This link is not valid. It may be incomplete: try copying the whole link from the email.
page-no-such-page-title = Not found
page-no-such-page-message = There is no such page here.
page-bad-request-title = Bad request
page-bad-form = This request did not carry a form that could be read.
page-bad-form-type = Expected a form (application/x-www-form-urlencoded or multipart/form-data).
page-too-large-title = Too large
page-too-large-message = That request was too large.
page-too-many-title = Too many requests
page-too-many-message = Please try again later.
page-internal-title = Something went wrong
page-internal-message = Please try again in a few minutes.

## Languages and time zones

# This catalog's language, in this language: the language picker shows it.
language-name = English
# The groups of the time zone picker (the regions of the IANA names).
zone-region-africa = Africa
zone-region-america = Americas
zone-region-antarctica = Antarctica
zone-region-arctic = Arctic
zone-region-asia = Asia
zone-region-atlantic = Atlantic
zone-region-australia = Australia
zone-region-europe = Europe
zone-region-indian = Indian Ocean
zone-region-pacific = Pacific
zone-region-other = Other
