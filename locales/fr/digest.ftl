# La lettre : objet, parties HTML et texte, et le bloc de chaque article.
# The digest, in French (formal register: vous). Variables as in
# en/digest.ftl. French typography: a no-break space (U+00A0) before « : »,
# « ? » and « ! », and between a number and the word it counts
# ({ "\u00A0" }).

## Subject line and the inbox preview

digest-subject = { $frequency ->
    [weekly] Votre lettre hebdomadaire du { $date }
   *[daily] Votre lettre quotidienne du { $date }
}
digest-subject-headline = { $frequency ->
    [weekly] Votre lettre hebdomadaire du { $date } : { $headline }
   *[daily] Votre lettre quotidienne du { $date } : { $headline }
}
digest-preheader = Également : { $titles }
digest-preheader-more = { PLURAL($count) ->
    [one] Également : { $titles }, et { $count }{ "\u00A0" }autre
   *[other] Également : { $titles }, et { $count }{ "\u00A0" }autres
}

## Heading and greeting

digest-view-in-browser = Afficher dans le navigateur
digest-view-in-browser-text = Afficher dans le navigateur :
digest-heading = { $frequency ->
    [weekly] Votre lettre hebdomadaire · { $date }
   *[daily] Votre lettre quotidienne · { $date }
}
digest-heading-text = { $frequency ->
    [weekly] { $site } : votre lettre hebdomadaire du { $date }
   *[daily] { $site } : votre lettre quotidienne du { $date }
}
digest-greeting = Bonjour,
digest-greeting-named = Bonjour { $name },
digest-contents-top = { $frequency ->
    [weekly] Voici { $stories } de la semaine écoulée.
   *[daily] Voici { $stories } de ces dernières vingt-quatre heures.
}
digest-contents-blogs = { $frequency ->
    [weekly] Voici { $posts } de la semaine écoulée.
   *[daily] Voici { $posts } de ces dernières vingt-quatre heures.
}
digest-contents-both = { $frequency ->
    [weekly] Voici { $stories } et { $posts } de la semaine écoulée.
   *[daily] Voici { $stories } et { $posts } de ces dernières vingt-quatre heures.
}
# French: 0 and 1 take the singular (CLDR category "one").
digest-count-stories = { PLURAL($count) ->
    [one] { $count }{ "\u00A0" }article à la une
   *[other] { $count }{ "\u00A0" }articles à la une
}
digest-count-posts = { PLURAL($count) ->
    [one] { $count }{ "\u00A0" }billet de blog
   *[other] { $count }{ "\u00A0" }billets de blog
}

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
digest-visit = Aller sur le site { $site }
digest-address = { $site }, { $address }
digest-frequency = { $frequency ->
    [weekly] Lettre hebdomadaire
   *[daily] Lettre quotidienne
}

## One story

story-votes = { PLURAL($count) ->
    [one] { $count }{ "\u00A0" }vote
   *[other] { $count }{ "\u00A0" }votes
}
story-comments = { PLURAL($count) ->
    [one] { $count }{ "\u00A0" }commentaire
   *[other] { $count }{ "\u00A0" }commentaires
}
story-read-more = Lire la suite
story-byline = { $section } · { $author }
