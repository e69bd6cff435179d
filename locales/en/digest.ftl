# The digest: subject line, HTML and text parts, and each story's block.
# Variables: $site (the site's name), $frequency ("daily" or "weekly"),
# $date (the edition's date, already formatted for the locale), $name (the
# subscriber's name), $email (their address), $headline (the first
# story's title), $count (a number).

## Subject line

digest-subject = { $frequency ->
    [weekly] Your weekly digest, { $date }
   *[daily] Your daily digest, { $date }
}
digest-subject-headline = { $frequency ->
    [weekly] Your weekly digest, { $date }: { $headline }
   *[daily] Your daily digest, { $date }: { $headline }
}

## Greeting

digest-intro = { $frequency ->
    [weekly] Here is your weekly digest for { $date }.
   *[daily] Here is your daily digest for { $date }.
}
digest-intro-named = { $frequency ->
    [weekly] Hello { $name }, here is your weekly digest for { $date }.
   *[daily] Hello { $name }, here is your daily digest for { $date }.
}
# The first line of the text part.
digest-heading-text = { $frequency ->
    [weekly] { $site }: your weekly digest, { $date }
   *[daily] { $site }: your daily digest, { $date }
}
digest-intro-text = Here is what you may have missed.
digest-intro-text-named = Hello { $name }, here is what you may have missed.

## Sections

digest-section-top = Top stories
digest-section-blogs = From the blogs

## Footer

digest-footer-why = { $frequency ->
    [weekly] You get this weekly digest from { $site } as { $email }.
   *[daily] You get this daily digest from { $site } as { $email }.
}
digest-unsubscribe = Unsubscribe
digest-unsubscribe-text = Unsubscribe:
digest-preferences = Manage preferences
digest-preferences-text = Manage preferences:
digest-visit = Visit { $site }
# A digest's frequency on its own, as in a list of editions.
digest-frequency = { $frequency ->
    [weekly] Weekly digest
   *[daily] Daily digest
}

## One story

story-votes = { PLURAL($count) ->
    [one] { $count } vote
   *[other] { $count } votes
}
story-comments = { PLURAL($count) ->
    [one] { $count } comment
   *[other] { $count } comments
}
story-read-more = Read more
# Section and author, when both are known.
story-byline = { $section } · { $author }
