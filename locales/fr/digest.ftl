# La lettre : objet, parties HTML et texte, et le bloc de chaque article.
# The digest, in French. Variables as in en/digest.ftl. French typography:
# a no-break space (U+00A0) before « : », « ? » and « ! ».

## Subject line

digest-subject = { $frequency ->
    [weekly] Votre lettre hebdomadaire du { $date }
   *[daily] Votre lettre quotidienne du { $date }
}
digest-subject-headline = { $frequency ->
    [weekly] Votre lettre hebdomadaire du { $date } : { $headline }
   *[daily] Votre lettre quotidienne du { $date } : { $headline }
}

## Greeting

digest-intro = { $frequency ->
    [weekly] Voici votre lettre hebdomadaire du { $date }.
   *[daily] Voici votre lettre quotidienne du { $date }.
}
digest-intro-named = { $frequency ->
    [weekly] Bonjour { $name }, voici votre lettre hebdomadaire du { $date }.
   *[daily] Bonjour { $name }, voici votre lettre quotidienne du { $date }.
}
digest-heading-text = { $frequency ->
    [weekly] { $site } : votre lettre hebdomadaire du { $date }
   *[daily] { $site } : votre lettre quotidienne du { $date }
}
digest-intro-text = Voici ce que vous avez peut-être manqué.
digest-intro-text-named = Bonjour { $name }, voici ce que vous avez peut-être manqué.

## Sections

digest-section-top = À la une
digest-section-blogs = Sur les blogs

## Footer

digest-footer-why = { $frequency ->
    [weekly] Vous recevez cette lettre hebdomadaire de { $site } à l’adresse { $email }.
   *[daily] Vous recevez cette lettre quotidienne de { $site } à l’adresse { $email }.
}
digest-unsubscribe = Se désabonner
digest-unsubscribe-text = Se désabonner :
digest-preferences = Gérer vos préférences
digest-preferences-text = Gérer vos préférences :
digest-visit = Aller sur { $site }
digest-frequency = { $frequency ->
    [weekly] Lettre hebdomadaire
   *[daily] Lettre quotidienne
}

## One story

# French: 0 and 1 take the singular (CLDR category "one").
story-votes = { PLURAL($count) ->
    [one] { $count } vote
   *[other] { $count } votes
}
story-comments = { PLURAL($count) ->
    [one] { $count } commentaire
   *[other] { $count } commentaires
}
story-read-more = Lire la suite
story-byline = { $section } · { $author }
