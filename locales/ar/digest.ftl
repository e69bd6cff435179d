# النشرة: سطر الموضوع، والجزآن HTML والنصي، وفقرة كل خبر.
# The digest, in Modern Standard Arabic (news register). Variables as in
# en/digest.ftl. Plurals use CLDR's six Arabic categories: zero (0), one
# (1), two (2), few (3–10, 103–110…), many (11–99, 111–199…), other (100,
# 1000…).

## Subject line

digest-subject = { $frequency ->
    [weekly] نشرتك الأسبوعية، { $date }
   *[daily] نشرتك اليومية، { $date }
}
digest-subject-headline = { $frequency ->
    [weekly] نشرتك الأسبوعية، { $date }: { $headline }
   *[daily] نشرتك اليومية، { $date }: { $headline }
}

## Greeting

digest-intro = { $frequency ->
    [weekly] إليك نشرتك الأسبوعية بتاريخ { $date }.
   *[daily] إليك نشرتك اليومية بتاريخ { $date }.
}
digest-intro-named = { $frequency ->
    [weekly] مرحبًا { $name }، إليك نشرتك الأسبوعية بتاريخ { $date }.
   *[daily] مرحبًا { $name }، إليك نشرتك اليومية بتاريخ { $date }.
}
digest-heading-text = { $frequency ->
    [weekly] { $site }: نشرتك الأسبوعية، { $date }
   *[daily] { $site }: نشرتك اليومية، { $date }
}
digest-intro-text = إليك ما ربما فاتك.
digest-intro-text-named = مرحبًا { $name }، إليك ما ربما فاتك.

## Sections

digest-section-top = أبرز الأخبار
digest-section-blogs = من المدوّنات

## Footer

digest-footer-why = { $frequency ->
    [weekly] تصلك هذه النشرة الأسبوعية من { $site } على العنوان { $email }.
   *[daily] تصلك هذه النشرة اليومية من { $site } على العنوان { $email }.
}
digest-unsubscribe = إلغاء الاشتراك
digest-unsubscribe-text = إلغاء الاشتراك:
digest-preferences = إدارة التفضيلات
digest-preferences-text = إدارة التفضيلات:
digest-visit = زيارة { $site }
digest-frequency = { $frequency ->
    [weekly] النشرة الأسبوعية
   *[daily] النشرة اليومية
}

## One story

story-votes = { PLURAL($count) ->
    [zero] لا أصوات
    [one] صوت واحد
    [two] صوتان
    [few] { $count } أصوات
    [many] { $count } صوتًا
   *[other] { $count } صوت
}
story-comments = { PLURAL($count) ->
    [zero] لا تعليقات
    [one] تعليق واحد
    [two] تعليقان
    [few] { $count } تعليقات
    [many] { $count } تعليقًا
   *[other] { $count } تعليق
}
story-read-more = اقرأ المزيد
story-byline = { $section } · { $author }
