# The digest: subject line, HTML and text parts, and each story's block.
# Variables: $site (the site's name), $frequency ("daily" or "weekly"),
# $date (the edition's date, already formatted for the locale), $name (the
# subscriber's name), $email (their address), $headline (the first
# story's title), $count (a number), $stories and $posts (the counts
# below, already formatted), $titles (headlines joined by " · "),
# $address (the site's postal address).
#
# { "\u00A0" } is a no-break space: it keeps a number on the line of the
# word it counts, in both parts.

## Subject line and the inbox preview

digest-subject = { $frequency ->
    [weekly] Your weekly digest, { $date }
   *[daily] Your daily digest, { $date }
}
digest-subject-headline = { $frequency ->
    [weekly] Your weekly digest, { $date }: { $headline }
   *[daily] Your daily digest, { $date }: { $headline }
}
# The hidden line mail clients show after the subject: the next headlines.
digest-preheader = Also: { $titles }
digest-preheader-more = Also: { $titles }, and { $count } more

## Heading and greeting

digest-view-in-browser = View in browser
digest-view-in-browser-text = View in browser:
# Under the site's name, in the HTML part.
digest-heading = { $frequency ->
    [weekly] Your weekly digest · { $date }
   *[daily] Your daily digest · { $date }
}
# The first line of the text part.
digest-heading-text = { $frequency ->
    [weekly] { $site }: your weekly digest, { $date }
   *[daily] { $site }: your daily digest, { $date }
}
digest-greeting = Hello,
digest-greeting-named = Hello { $name },
# What the digest holds: top stories only ($count of them), blog posts
# only, or both ($count is then the total).
digest-contents-top = { $frequency ->
    [weekly] { PLURAL($count) ->
        [one] Here is { $stories } from the past week.
       *[other] Here are { $stories } from the past week.
    }
   *[daily] { PLURAL($count) ->
        [one] Here is { $stories } from the past day.
       *[other] Here are { $stories } from the past day.
    }
}
digest-contents-blogs = { $frequency ->
    [weekly] { PLURAL($count) ->
        [one] Here is { $posts } from the past week.
       *[other] Here are { $posts } from the past week.
    }
   *[daily] { PLURAL($count) ->
        [one] Here is { $posts } from the past day.
       *[other] Here are { $posts } from the past day.
    }
}
digest-contents-both = { $frequency ->
    [weekly] Here are { $stories } and { $posts } from the past week.
   *[daily] Here are { $stories } and { $posts } from the past day.
}
digest-count-stories = { PLURAL($count) ->
    [one] { $count }{ "\u00A0" }top story
   *[other] { $count }{ "\u00A0" }top stories
}
digest-count-posts = { PLURAL($count) ->
    [one] { $count }{ "\u00A0" }blog post
   *[other] { $count }{ "\u00A0" }blog posts
}

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
# The sender's postal address, the last line of both parts.
digest-address = { $site }, { $address }
# A digest's frequency on its own, as in a list of editions.
digest-frequency = { $frequency ->
    [weekly] Weekly digest
   *[daily] Daily digest
}

## One story

story-votes = { PLURAL($count) ->
    [one] { $count }{ "\u00A0" }vote
   *[other] { $count }{ "\u00A0" }votes
}
story-comments = { PLURAL($count) ->
    [one] { $count }{ "\u00A0" }comment
   *[other] { $count }{ "\u00A0" }comments
}
story-read-more = Read more
# Section and author, when both are known.
story-byline = { $section } · { $author }
